// The per-request fields a pipeline's stages declare (the `request:` block of
// their descriptors, merged at config load into Pipeline.requestFields), read
// from a multipart form: each declared field's text is turned into its schema's
// type (numbers in decimal only, booleans as true/false/1/0, arrays from
// repeated or `name[]` fields), checked with ajv, and only declared fields reach
// the pipeline. A wrong value is a 400 naming the field and every field the
// route accepts. Fields no stage declared are ignored, as OpenAI ignores them.
import { Ajv, type ValidateFunction } from 'ajv';
import { invalidValue, type ApiError } from './errors.js';

type Schema = { type?: string | string[]; items?: Schema } & Record<string, unknown>;

/** Numbers are written in decimal, as OpenAI's API reads them: Number() would also take '0x1', '' or 'Infinity'. */
export const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** true/false/1/0 (any case); undefined for anything else. */
export function parseBooleanText(raw: string): boolean | undefined {
  const value = raw.trim().toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return undefined;
}

const ajv = new Ajv({ allErrors: false, strict: false });

/** One form value as the schema's type, or the text itself when it does not convert (ajv then says why). */
function convert(raw: string, schema: Schema | undefined): unknown {
  const types = [schema?.type ?? []].flat();
  const text = raw.trim();
  if ((types.includes('number') || types.includes('integer')) && DECIMAL.test(text)) return Number(text);
  if (types.includes('boolean')) return parseBooleanText(raw) ?? raw;
  if (types.includes('object') && text.startsWith('{')) {
    try { return JSON.parse(text); } catch { return raw; }
  }
  return raw;
}

export class RequestFields {
  private readonly schemas: Record<string, Schema>;
  private readonly validators = new Map<string, ValidateFunction>();

  /** `schemas`: field → JSON schema (Pipeline.requestFields); `own`: fields the handler reads itself. */
  constructor(schemas: Readonly<Record<string, object>>, private readonly own: readonly string[]) {
    this.schemas = schemas as Record<string, Schema>;
    for (const [name, schema] of Object.entries(this.schemas)) this.validators.set(name, ajv.compile(schema));
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
        const props = (schema.properties ?? {}) as Record<string, Schema>;
        values.push(JSON.stringify(Object.fromEntries(keyed.map(([key, [v]]) => {
          const prop = key.slice(name.length + 1, -1);
          return [prop, convert(v, props[prop] ?? { type: 'number' })];
        }))));
      }
      if (values.length === 0) continue;
      const isArray = [schema.type ?? []].flat().includes('array');
      if (!isArray && values.length > 1) throw this.invalid(name, `'${name}' was sent ${values.length} times; send it once.`);
      const value = isArray ? values.map((v) => convert(v, schema.items)) : convert(values[0], schema);
      const validate = this.validators.get(name)!;
      if (!validate(value)) {
        const [error] = validate.errors ?? [];
        throw this.invalid(name, `${name}${error?.instancePath ?? ''} ${error?.message ?? 'is invalid'} (got ${JSON.stringify(isArray ? values : values[0])}).`);
      }
      out[name] = value;
    }
    return out;
  }

  private invalid(name: string, message: string): ApiError {
    return invalidValue(name, `${message} Fields this route accepts: ${this.accepted().join(', ')}.`);
  }
}
