// Flags a model folder adds to `sgl-omni serve` (serve_flags in its
// sgl-omni.yaml), so a plugin gives its users a plain flag without the core
// knowing it by name. Each flag is a shorthand for one override (`sets`) and may
// switch a served pipeline to a variant that has the stage it configures:
// qwen3-forced-aligner's --aligner-path ID_OR_DIR serves
// pipelines/qwen3-asr-aligned.yaml in place of pipelines/qwen3-asr.yaml and sets
// stages.align.options.model_path.
import path from 'node:path';
import type { ServeFlagSpec } from './descriptors.js';
import { readPipelineDocument, type Override } from './document.js';
import { OverrideArgsError } from './overrides.js';

export interface ServeFlag extends Required<ServeFlagSpec> {
  /** The flag without its dashes: aligner-path. */
  name: string;
  /** The manifest that declares it. */
  file: string;
}

export interface ServeFlagUse {
  flag: ServeFlag;
  value: string;
}

/** The names of a pipeline file's stages (read without resolving its plugins). */
export function stageNames(file: string): string[] {
  return Object.keys((readPipelineDocument(file).value as { stages?: object } | null)?.stages ?? {});
}

/**
 * The served pipeline files once the given flags' switches apply, and the overrides they set.
 * A flag setting `stages.X.…` needs a served pipeline with a stage X: otherwise it would do
 * nothing (or fail as a schema error about a stage the user never named), so it is refused here.
 */
export function applyServeFlags(files: string[], uses: ServeFlagUse[]): { files: string[]; overrides: Override[] } {
  const served = files.map((file) => uses.reduce((f, { flag }) => flag.switch[f] ?? f, file));
  for (const { flag } of uses) {
    const [root, stage] = flag.sets.split('.');
    if (root !== 'stages' || served.some((file) => stageNames(file).includes(stage))) continue;
    const rel = (f: string) => path.relative(process.cwd(), f);
    const switches = Object.entries(flag.switch).map(([from, to]) => `${rel(from)} → ${rel(to)}`);
    throw new OverrideArgsError(
      `--${flag.name} sets ${flag.sets}, but no served pipeline has a stage '${stage}' (${served.map(rel).join(', ')})` +
        (switches.length > 0 ? `; it applies to ${switches.join(', ')}` : ''),
    );
  }
  return { files: served, overrides: uses.map(({ flag, value }): Override => [flag.sets, value]) };
}
