// The per-request fields a pipeline's stages declare (the `request:` block of
// their descriptors, merged at config load into Pipeline.requestFields), read
// from a multipart form: each declared field's text is turned into its schema's
// type (numbers in decimal only, booleans as true/false/1/0, arrays from
// repeated or `name[]` fields), checked with ajv, and only declared fields reach
// the pipeline. A wrong value is a 400 naming the field and every field the
// route accepts. Fields no stage declared are ignored, as OpenAI ignores them.
// readFormValue is the one parser of form values: a handler's own fields
// (OpenAI's temperature, seed…) go through it too.
import { Ajv, type ValidateFunction } from 'ajv';
import { invalidValue } from './errors.js';

export type FieldSchema = { type?: string | string[]; items?: FieldSchema } & Record<string, unknown>;

/**
 * Numbers are written in decimal, as OpenAI's API reads them, and nothing else: Number() would
 * also take '0x1', '1e3', 'Infinity' or ' 1 ' (surrounding spaces are a 400, not trimmed away).
 */
export const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const WHOLE = /^[+-]?\d+$/;

/** true/false/1/0 (any case, no surrounding spaces); undefined for anything else. */
export function parseBooleanText(raw: string): boolean | undefined {
  const value = raw.toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return undefined;
}

const ajv = new Ajv({ allErrors: false, strict: false });
const compiled = new WeakMap<FieldSchema, ValidateFunction>();

function validator(schema: FieldSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
  return validate;
}

const typesOf = (schema: FieldSchema | undefined) => [schema?.type ?? []].flat();

/** One form value as the schema's type, or the text itself when it does not convert (the check then says why). */
function convert(raw: string, schema: FieldSchema | undefined): unknown {
  const types = typesOf(schema);
  if (types.includes('integer') && WHOLE.test(raw) && Number.isSafeInteger(Number(raw))) return Number(raw);
  if (types.includes('number') && DECIMAL.test(raw)) return Number(raw);
  if (types.includes('boolean')) return parseBooleanText(raw) ?? raw;
  if (types.includes('object') && raw.startsWith('{')) {
    try { return JSON.parse(raw); } catch { return raw; }
  }
  return raw;
}

/** "from 0 to 1", "above 0 and at most 2", "of at least 1": a numeric schema's range in words. */
function rangeText(schema: FieldSchema): string {
  const low = schema.exclusiveMinimum !== undefined ? `above ${schema.exclusiveMinimum}` : schema.minimum !== undefined ? `${schema.minimum}` : undefined;
  const high = schema.maximum !== undefined ? `${schema.maximum}` : undefined;
  if (low !== undefined && high !== undefined) return schema.exclusiveMinimum !== undefined ? ` ${low} and at most ${high}` : ` from ${low} to ${high}`;
  if (low !== undefined) return schema.exclusiveMinimum !== undefined ? ` ${low}` : ` of at least ${low}`;
  return high !== undefined ? ` of at most ${high}` : '';
}

/** Why `raw` is not a valid `name`: a sentence for scalar numbers and booleans, ajv's words otherwise. */
function reason(name: string, schema: FieldSchema, shown: string, validate: ValidateFunction): string {
  const types = typesOf(schema);
  if (types.length === 1 && (types[0] === 'number' || types[0] === 'integer')) {
    return `${name} must be a ${types[0] === 'integer' ? 'whole' : 'decimal'} number${rangeText(schema)} (got ${shown}).`;
  }
  if (types.length === 1 && types[0] === 'boolean') return `${name} must be true or false (got ${shown}).`;
  const [error] = validate.errors ?? [];
  return `${name}${error?.instancePath ?? ''} ${error?.message ?? 'is invalid'} (got ${shown}).`;
}

/** Longest piece of a sent value an error message repeats: enough to recognise it, never a reflected 8 KB payload. */
const MAX_SHOWN_CHARS = 80;

/** A sent value as an error message shows it: cut to MAX_SHOWN_CHARS with the total length named. */
export function shownValue(text: string): string {
  if (text.length <= MAX_SHOWN_CHARS) return text;
  return `${text.slice(0, MAX_SHOWN_CHARS)}… (${text.length} characters)`;
}

/**
 * Reads one field from its form text(s): converted to the schema's type and checked. An array
 * schema takes every value; any other takes one. Throws the reason as a 400 naming the field
 * (`describe` may add to the message, e.g. the fields the route accepts).
 */
export function readFormValue(name: string, values: string[], schema: FieldSchema, describe: (message: string) => string = (m) => m): unknown {
  const isArray = typesOf(schema).includes('array');
  if (!isArray && values.length > 1) throw invalidValue(name, describe(`'${name}' was sent ${values.length} times; send it once.`));
  const value = isArray ? values.map((v) => convert(v, schema.items)) : convert(values[0], schema);
  const validate = validator(schema);
  if (!validate(value)) throw invalidValue(name, describe(reason(name, schema, shownValue(isArray ? JSON.stringify(values) : `'${values[0]}'`), validate)));
  return value;
}

export class RequestFields {
  private readonly schemas: Record<string, FieldSchema>;

  /** `schemas`: field → JSON schema (Pipeline.requestFields); `own`: fields the handler reads itself. */
  constructor(schemas: Readonly<Record<string, object>>, private readonly own: readonly string[]) {
    this.schemas = schemas as Record<string, FieldSchema>;
    for (const schema of Object.values(this.schemas)) validator(schema);
  }

  /** Every field the route takes: the handler's own and the declared ones. */
  accepted(): string[] {
    return [...new Set([...this.own, ...Object.keys(this.schemas)])].sort();
  }

  /** Whether a stage declared `name` (only declared fields are passed on). */
  declares(name: string): boolean {
    return name in this.schemas;
  }

  /** The declared fields the handler does not read itself, from the form, converted and checked. */
  read(fields: Map<string, string[]>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, schema] of Object.entries(this.schemas)) {
      if (this.own.includes(name)) continue;
      const values = [...(fields.get(name) ?? []), ...(fields.get(`${name}[]`) ?? [])].filter((v) => v !== '');
      // An object sent as name[key]=value fields (openai-node's multipart encoding) or as JSON text.
      const keyed = [...fields].filter(([key]) => key.startsWith(`${name}[`) && key.endsWith(']') && key !== `${name}[]`);
      if (keyed.length > 0 && values.length === 0) {
        const props = (schema.properties ?? {}) as Record<string, FieldSchema>;
        values.push(JSON.stringify(Object.fromEntries(keyed.map(([key, [v]]) => {
          const prop = key.slice(name.length + 1, -1);
          return [prop, convert(v, props[prop] ?? { type: 'number' })];
        }))));
      }
      if (values.length === 0) continue;
      const value = readFormValue(name, values, schema, (message) => `${message} Fields this route accepts: ${this.accepted().join(', ')}.`);
      out[name] = value;
    }
    return out;
  }
}
