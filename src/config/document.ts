// The pipeline YAML as a document that remembers where each value came from:
// line/column for values in the file, the flag for values set by overrides.
import fs from 'node:fs';
import YAML, { LineCounter, isMap, isScalar, isSeq, type Document, type Node } from 'yaml';
import { ConfigError, type ConfigProblem } from './errors.js';

export interface PipelineDocument {
  file: string;
  /** Plain JS value of the document after overrides. */
  value: unknown;
  /** Fills line/column (or the override flag) of a problem from its path. */
  locate(problem: ConfigProblem): ConfigProblem;
}

/** A dotted override such as ['stages.decoder.workers', '2'] (value parsed as YAML). */
export type Override = [path: string, raw: string];

export function readPipelineDocument(file: string, overrides: Override[] = []): PipelineDocument {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` }]);
  }
  return parsePipelineDocument(text, file, overrides);
}

export function parsePipelineDocument(text: string, file: string, overrides: Override[] = []): PipelineDocument {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const reason = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      return { path: '', message: `invalid YAML: ${reason}`, line: pos?.line, col: pos?.col };
    }));
  }
  const overridden = new Map<string, string>();
  for (const [dotted, raw] of overrides) {
    applyOverride(doc, file, dotted, raw);
    overridden.set(dotted, `--${dotted} ${raw}`);
  }
  const locate = (problem: ConfigProblem): ConfigProblem => {
    const flag = overriddenAncestor(overridden, problem.path);
    if (flag) return { ...problem, override: flag };
    const offset = findOffset(doc, splitPath(problem.path));
    if (offset === undefined) return problem;
    const { line, col } = lines.linePos(offset);
    return { ...problem, line, col };
  };
  return { file, value: doc.toJS(), locate };
}

function applyOverride(doc: Document, file: string, dotted: string, raw: string): void {
  const path = splitPath(dotted);
  const problem = (message: string) => new ConfigError(file, [{ path: dotted, message, override: `--${dotted} ${raw}` }]);
  if (path.length === 0 || path.some((p) => p === '')) throw problem('override path must look like stages.decoder.workers');
  // Overrides tune existing stages; a typo in a stage name must not add a half-configured stage.
  if (path[0] === 'stages' && path.length > 1 && !doc.hasIn(['stages', path[1]])) {
    throw problem(`no stage named '${path[1]}' in the file`);
  }
  let value: unknown;
  try {
    value = YAML.parse(raw);
  } catch {
    throw problem(`value ${JSON.stringify(raw)} is not valid YAML`);
  }
  doc.setIn(path, value);
}

function overriddenAncestor(overridden: Map<string, string>, path: string): string | undefined {
  for (const [dotted, flag] of overridden) {
    if (path === dotted || path.startsWith(dotted + '.')) return flag;
  }
  return undefined;
}

export function splitPath(dotted: string): string[] {
  return dotted === '' ? [] : dotted.split('.');
}

/** Offset of the deepest part of `path` present in the document: a key's position for map entries. */
function findOffset(doc: Document, path: string[]): number | undefined {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0];
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === segment);
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}
