// Walks a pipeline's payload contracts: starting from what a route's handler
// submits, each stage must find the fields it consumes (with a compatible type)
// among those the request and the stages before it produce, and the last stage
// must leave what the handler reads. A stage without a descriptor (a module named
// by path) is opaque: after it, nothing more can be checked.
import type { ConfigProblem } from './errors.js';
import type { Fields, HandlerDescriptor, PluginDescriptor } from './descriptors.js';

export interface ContractStage {
  name: string;
  plugin: string;
  descriptor?: PluginDescriptor;
}

interface Available {
  type: string;
  /** Who put it there: "stage 'decode' (audio/decode)" or "the request (openai-transcription)". */
  by: string;
}

/** `have` satisfies `want`: equal, `any` either side, integer as number, typed arrays as arrays. */
export function compatible(have: string, want: string): boolean {
  if (have === want || want === 'any' || have === 'any') return true;
  if (want === 'number') return have === 'integer';
  if (want === 'array') return have.endsWith('[]');
  return false;
}

/** Drops `field` and everything under it (`segments` takes `segments[].mel` with it). */
function drop(available: Map<string, Available>, field: string): void {
  for (const key of [...available.keys()]) {
    if (key === field || key.startsWith(`${field}.`) || key.startsWith(`${field}[].`)) available.delete(key);
  }
}

function listFields(available: Map<string, Available>): string {
  return available.size === 0 ? 'nothing' : [...available.entries()].map(([k, v]) => `${k} (${v.type})`).join(', ');
}

function missingProblems(want: Fields, available: Map<string, Available>, consumer: string, after: string, path: string): ConfigProblem[] {
  const missing: string[] = [];
  const problems: ConfigProblem[] = [];
  for (const [field, spec] of Object.entries(want)) {
    const have = available.get(field);
    if (!have) {
      if (!spec.optional) missing.push(`${field} (${spec.type})`);
    } else if (!compatible(have.type, spec.type)) {
      problems.push({ path, message: `${consumer} needs ${field} as ${spec.type}, but ${have.by} produces it as ${have.type}` });
    }
  }
  if (missing.length > 0) {
    problems.unshift({ path, message: `${consumer} needs ${missing.join(', ')}, which nothing before it produces; after ${after} the payload has ${listFields(available)}` });
  }
  return problems;
}

/** Problems of one route's path through `stages` (graph order), or none. */
export function checkContracts(stages: ContractStage[], handler: HandlerDescriptor, route: { path: string; at: string }): ConfigProblem[] {
  const request = `the request (handler ${handler.name})`;
  const available = new Map<string, Available>(Object.entries(handler.provides).map(([k, v]) => [k, { type: v.type, by: request }]));
  const problems: ConfigProblem[] = [];
  let after = request;
  for (const stage of stages) {
    const label = `stage '${stage.name}' (${stage.plugin})`;
    const contract = stage.descriptor;
    if (!contract) return problems;
    problems.push(...missingProblems(contract.consumes, available, label, after, `stages.${stage.name}`));
    contract.removes.forEach((field) => drop(available, field));
    // Drop first, then add: producing `segments` replaces its old sub-fields, not the new ones listed after it.
    Object.keys(contract.produces).forEach((field) => drop(available, field));
    for (const [field, spec] of Object.entries(contract.produces)) available.set(field, { type: spec.type, by: label });
    after = label;
  }
  problems.push(...missingProblems(handler.needs, available, `route ${route.path} (handler ${handler.name})`, after, route.at));
  return problems;
}
