// Reads a pipeline YAML into a ResolvedPipelineConfig: overrides applied,
// schema defaults filled, graph checked, plugins found and their options validated.
// Every problem found is reported at once, each naming file, line and path.
import YAML from 'yaml';
import { readPipelineDocument, type Override } from './document.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { orderStages } from './graph.js';
import { importPlugin, resolvePluginModule } from './plugins.js';
import type { PipelineConfig, ResolvedPipelineConfig, ResolvedStage } from './types.js';
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
  const config = doc.value as PipelineConfig;

  const { order, problems } = orderStages(config);
  const stages: ResolvedStage[] = [];
  for (const name of order) {
    const stage = config.stages[name];
    try {
      const module = resolvePluginModule(stage.plugin, file);
      const plugin = await importPlugin(module);
      if (plugin.optionsSchema) problems.push(...validateOptions(plugin.optionsSchema, stage.options, `stages.${name}.options`));
      stages.push({ name, ...stage, module });
    } catch (err) {
      problems.push({ path: `stages.${name}.plugin`, message: (err as Error).message });
    }
  }
  if (problems.length > 0) throw fail(problems);
  return { file, config, stages };
}

/** The resolved config as YAML (defaults filled in), with where each plugin was found. */
export function explainPipelineConfig(resolved: ResolvedPipelineConfig): string {
  const modules = resolved.stages.map((s) => `#   ${s.name}: ${s.module}`).join('\n');
  return `# ${resolved.file} with defaults filled in\n# plugin modules:\n${modules}\n${YAML.stringify(resolved.config)}`;
}
