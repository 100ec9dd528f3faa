// Picks the pipeline for a checkpoint from its config.json `architectures`
// through configs/models.yaml, so `serve --model-path` needs no --pipeline.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { repoRoot } from '../util/paths.js';

export class ModelPipelineError extends Error {
  readonly code = 'ERR_NO_PIPELINE';
}

export function modelsMapPath(): string {
  return path.join(repoRoot(), 'configs', 'models.yaml');
}

/** Absolute path of the pipeline YAML serving the checkpoint in `modelPath`. */
export function pipelineForModel(modelPath: string): string {
  const configFile = path.join(modelPath, 'config.json');
  let architectures: unknown;
  try {
    architectures = JSON.parse(fs.readFileSync(configFile, 'utf8')).architectures;
  } catch (err) {
    throw new ModelPipelineError(`cannot pick a pipeline: ${configFile} is unreadable (${(err as Error).message}); pass --pipeline FILE`);
  }
  const known = (YAML.parse(fs.readFileSync(modelsMapPath(), 'utf8')) ?? {}) as Record<string, string>;
  const match = Array.isArray(architectures) ? architectures.find((a) => typeof a === 'string' && a in known) : undefined;
  if (!match) {
    throw new ModelPipelineError(`no pipeline for architectures ${JSON.stringify(architectures)} in ${configFile} (known: ${Object.keys(known).join(', ')}); pass --pipeline FILE`);
  }
  return path.resolve(repoRoot(), known[match]);
}
