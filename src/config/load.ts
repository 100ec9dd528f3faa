// Reads a pipeline YAML into a ResolvedPipelineConfig: overrides applied,
// schema defaults filled, graph checked, plugins found from their descriptors
// (modules are not imported) and their options validated, cross-field rules
// checked, routes given their handlers (built-in, by path or from a package) and
// every route's payload contract walked.
// Every problem found is reported at once, each naming file, line and path.
import YAML from 'yaml';
import { checkModuleExists } from './descriptors.js';
import { builtinCatalogue } from './discovery.js';
import { readPipelineDocument, type Override } from './document.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { orderStages } from './graph.js';
import { checkContracts } from './payload.js';
import { importPlugin, resolveHandler, resolvePlugin } from './plugins.js';
import { resolveRoutes, type ResolvedRoute } from './routes.js';
import { checkRules, conditionHolds } from './rules.js';
import type { PipelineConfig, PipelineDocumentValue, ResolvedPipelineConfig, ResolvedStage } from './types.js';
import { validateOptions, validatePipeline } from './validate.js';

export interface LoadOptions {
  /** Dotted overrides applied before validation, e.g. [['stages.decoder.workers', '2']]. */
  overrides?: Override[];
}

export async function loadPipelineConfig(file: string, opts: LoadOptions = {}): Promise<ResolvedPipelineConfig> {
  const doc = readPipelineDocument(file, opts.overrides);
  const fail = (problems: ConfigProblem[]) =>
    new ConfigError(file, problems.map(doc.locate).sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0)));

  const schemaProblems = validatePipeline(doc.value);
  if (schemaProblems.length > 0) throw fail(schemaProblems);
  const written = doc.value as PipelineDocumentValue;

  const { order, problems } = orderStages(written as unknown as PipelineConfig);
  const stages: ResolvedStage[] = [];
  for (const name of order) {
    const stage = written.stages[name];
    try {
      const { module, descriptor } = resolvePlugin(stage.plugin, file);
      const schema = descriptor ? descriptor.options : (await importPlugin(module)).optionsSchema;
      const optionProblems = schema ? validateOptions(schema, stage.options, `stages.${name}.options`) : [];
      problems.push(...optionProblems);
      // Rules read option values, which are only meaningful once the options passed their schema.
      const scope = { stage: stage as unknown as Record<string, unknown>, pipeline: written as unknown as Record<string, unknown> };
      if (descriptor && optionProblems.length === 0) problems.push(...checkRules(descriptor.rules, scope, `stages.${name}`, descriptor.name));
      const needs = descriptor?.needs_model ?? false;
      stages.push({ name, ...stage, module, descriptor, needsModel: typeof needs === 'string' ? conditionHolds(needs, scope) : needs });
    } catch (err) {
      problems.push({ path: `stages.${name}.plugin`, message: (err as Error).message });
    }
  }

  const { routes, problems: routeProblems } = resolveRoutes(written.routes, builtinCatalogue().handlers, (spec) => resolveHandler(spec, file));
  problems.push(...routeProblems, ...routes.flatMap((route) => handlerModuleProblems(route)));
  // A stage that failed to resolve leaves a hole in the chain: the walk would report its fields as missing.
  if (order.length > 0 && stages.length === order.length) {
    for (const route of routes) {
      problems.push(...checkContracts(stages.map((s) => ({ name: s.name, plugin: s.plugin, descriptor: s.descriptor })), route.descriptor, route));
    }
  }
  const { request, problems: requestProblems } = requestFields(stages);
  problems.push(...requestProblems);
  if (problems.length > 0) throw fail(problems);
  const config: PipelineConfig = { ...written, routes: routes.map((r) => r.path) };
  return { file, config, stages, routes, request, needsModel: stages.some((s) => s.needsModel) };
}

function handlerModuleProblems(route: ResolvedRoute): ConfigProblem[] {
  try {
    checkModuleExists(route.descriptor);
    return [];
  } catch (err) {
    return [{ path: route.at, message: (err as Error).message }];
  }
}

/** The request fields every stage accepts, merged; two stages reading one field must agree on its schema. */
function requestFields(stages: ResolvedStage[]): { request: Record<string, object>; problems: ConfigProblem[] } {
  const request: Record<string, object> = {};
  const owner: Record<string, string> = {};
  const problems: ConfigProblem[] = [];
  for (const stage of stages) {
    for (const [field, schema] of Object.entries(stage.descriptor?.request ?? {})) {
      if (field in request && JSON.stringify(request[field]) !== JSON.stringify(schema)) {
        problems.push({ path: `stages.${stage.name}.plugin`, message: `request field '${field}' is read by stage '${owner[field]}' and by '${stage.name}' with different schemas` });
        continue;
      }
      request[field] = schema;
      owner[field] = stage.name;
    }
  }
  return { request, problems };
}

/** The resolved config as YAML (defaults filled in), with each route's handler and where each plugin was found. */
export function explainPipelineConfig(resolved: ResolvedPipelineConfig): string {
  const modules = resolved.stages.map((s) => `#   ${s.name}: ${s.module}${s.descriptor ? ` (${s.descriptor.file})` : ' (no descriptor: payload unchecked)'}`).join('\n');
  const routes = resolved.routes.map(({ path, handler }) => ({ path, handler }));
  return `# ${resolved.file} with defaults filled in\n# plugin modules:\n${modules}\n${YAML.stringify({ ...resolved.config, routes })}`;
}
