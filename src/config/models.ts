// Picks the pipeline for a checkpoint from its config.json `architectures`:
// each model folder's sgl-omni.yaml maps the architectures it serves to a
// pipeline YAML (discovery.ts), so `serve --model-path` needs no --pipeline.
import fs from 'node:fs';
import path from 'node:path';
import { builtinCatalogue } from './discovery.js';

export class ModelPipelineError extends Error {
  readonly code = 'ERR_NO_PIPELINE';
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
  const { models } = builtinCatalogue();
  const match = Array.isArray(architectures) ? architectures.find((a) => typeof a === 'string' && models.has(a)) : undefined;
  if (!match) {
    throw new ModelPipelineError(`no pipeline for architectures ${JSON.stringify(architectures)} in ${configFile} (known: ${[...models.keys()].join(', ')}); pass --pipeline FILE`);
  }
  return models.get(match)!.pipeline;
}
