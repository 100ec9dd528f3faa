// Dataset manifests: JSONL, one {"audio": path relative to the manifest,
// "text": reference transcript} per line; optional "id" and "duration" (seconds).
// Audio is read into memory up front so that disk reads are never timed.
import fs from 'node:fs';
import path from 'node:path';
import { EvalError } from './errors.js';
import { wavDurationSeconds } from './wav.js';

export interface DatasetItem {
  id: string;
  /** Absolute path of the audio file. */
  audioPath: string;
  reference: string;
  bytes: Uint8Array<ArrayBuffer>;
  /** From the manifest or the WAV header; null until the server reports usage.seconds. */
  durationSeconds: number | null;
}

interface ManifestLine {
  audio?: unknown;
  text?: unknown;
  id?: unknown;
  duration?: unknown;
}

export function loadManifest(file: string, limit?: number): DatasetItem[] {
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new EvalError('bad_manifest', `cannot read dataset manifest ${file}: ${(err as Error).message}`);
  }
  const base = path.dirname(path.resolve(file));
  const items: DatasetItem[] = [];
  const lines = content.split('\n');
  for (let n = 0; n < lines.length && (limit === undefined || items.length < limit); n++) {
    if (lines[n].trim() === '') continue;
    items.push(parseLine(lines[n], `${file}:${n + 1}`, base));
  }
  if (items.length === 0) throw new EvalError('bad_manifest', `dataset manifest ${file} has no entries`);
  return items;
}

function parseLine(line: string, where: string, base: string): DatasetItem {
  let entry: ManifestLine;
  try {
    entry = JSON.parse(line) as ManifestLine;
  } catch {
    throw new EvalError('bad_manifest', `${where}: not a JSON object`);
  }
  if (typeof entry !== 'object' || entry === null) throw new EvalError('bad_manifest', `${where}: not a JSON object`);
  if (typeof entry.audio !== 'string' || entry.audio === '') throw new EvalError('bad_manifest', `${where}: "audio" must be a path`);
  if (typeof entry.text !== 'string') throw new EvalError('bad_manifest', `${where}: "text" must be the reference transcript`);
  if (entry.duration !== undefined && !(typeof entry.duration === 'number' && entry.duration > 0)) {
    throw new EvalError('bad_manifest', `${where}: "duration" must be a positive number of seconds`);
  }
  const audioPath = path.resolve(base, entry.audio);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(fs.readFileSync(audioPath));
  } catch {
    throw new EvalError('missing_audio', `${where}: audio file ${audioPath} cannot be read`);
  }
  return {
    id: typeof entry.id === 'string' ? entry.id : entry.audio,
    audioPath,
    reference: entry.text,
    bytes,
    durationSeconds: (entry.duration as number | undefined) ?? wavDurationSeconds(bytes),
  };
}
