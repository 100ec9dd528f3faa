// Schema validation with ajv: fills defaults in place and turns ajv's errors
// into problems that name the dotted path and what was expected.
import fs from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { repoRoot } from '../util/paths.js';
import type { ConfigProblem } from './errors.js';
import path from 'node:path';

const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true, allowUnionTypes: true });
let pipelineValidator: ValidateFunction | undefined;

export function pipelineSchemaPath(): string {
  return path.join(repoRoot(), 'configs', 'pipeline.schema.json');
}

/** Validates (and fills defaults into) a whole pipeline document. */
export function validatePipeline(value: unknown): ConfigProblem[] {
  pipelineValidator ??= ajv.compile(JSON.parse(fs.readFileSync(pipelineSchemaPath(), 'utf8')));
  return pipelineValidator(value) ? [] : toProblems(pipelineValidator.errors ?? [], '');
}

const descriptorValidators = new Map<string, ValidateFunction>();

export function descriptorSchemaPath(): string {
  return path.join(repoRoot(), 'configs', 'descriptor.schema.json');
}

/** Validates (and fills defaults into) a plugin, handler or manifest descriptor. */
export function validateDescriptor(kind: 'plugin' | 'handler' | 'manifest', value: unknown): ConfigProblem[] {
  if (descriptorValidators.size === 0) {
    const schema = JSON.parse(fs.readFileSync(descriptorSchemaPath(), 'utf8')) as { $id: string };
    if (!ajv.getSchema(schema.$id)) ajv.addSchema(schema);
    for (const k of ['plugin', 'handler', 'manifest']) descriptorValidators.set(k, ajv.compile({ $ref: `${schema.$id}#/definitions/${k}` }));
  }
  const validate = descriptorValidators.get(kind)!;
  return validate(value) ? [] : toProblems(validate.errors ?? [], '');
}

const pluginValidators = new WeakMap<object, ValidateFunction>();

/** Validates (and fills defaults into) one stage's options against its plugin's schema. */
export function validateOptions(schema: object, options: unknown, prefix: string): ConfigProblem[] {
  let validate = pluginValidators.get(schema);
  if (!validate) {
    try {
      validate = ajv.compile(schema);
    } catch (err) {
      return [{ path: prefix, message: `the plugin's optionsSchema is not a valid JSON schema: ${(err as Error).message}` }];
    }
    pluginValidators.set(schema, validate);
  }
  return validate(options) ? [] : toProblems(validate.errors ?? [], prefix);
}

function toProblems(errors: ErrorObject[], prefix: string): ConfigProblem[] {
  const seen = new Set<string>();
  const problems: ConfigProblem[] = [];
  for (const e of errors) {
    // `if`/`anyOf` wrappers repeat what their branches already said.
    if (e.keyword === 'if' || e.keyword === 'anyOf' || e.keyword === 'oneOf') continue;
    const problem = describe(e, prefix);
    const key = problem.path + '\0' + problem.message;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(problem);
    }
  }
  return problems;
}

function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('.');
}

function describe(e: ErrorObject, prefix: string): ConfigProblem {
  const at = join(prefix, e.instancePath.split('/').slice(1).map(unescapePointer).join('.'));
  const got = e.data === undefined ? '' : ` (got ${JSON.stringify(e.data)})`;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path: join(at, String(params.missingProperty)), message: 'required field is missing' };
    case 'additionalProperties': {
      const known = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {});
      const expected = known.length ? ` (expected one of: ${known.join(', ')})` : '';
      return { path: join(at, String(params.additionalProperty)), message: `unknown field${expected}` };
    }
    case 'propertyNames':
      return { path: join(at, String(params.propertyName)), message: 'invalid name: use lowercase letters, digits, - and _, starting with a letter' };
    case 'type':
      return { path: at, message: `must be ${params.type}${got}` };
    case 'enum':
      return { path: at, message: `must be one of ${JSON.stringify(params.allowedValues)}${got}` };
    case 'minLength':
      // A required name or path left empty ('' from YAML, an override or a serve flag) is not "unset".
      return { path: at, message: params.limit === 1 ? `must not be empty${got}` : `must be at least ${params.limit} characters${got}` };
    default:
      return { path: at, message: `${e.message ?? e.keyword}${got}` };
  }
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
