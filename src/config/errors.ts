// Config errors always say where (file, line when known, path inside the file)
// and what was expected, so a user can fix the YAML without reading code.

export interface ConfigProblem {
  /** Dotted path inside the document, e.g. 'stages.decoder.workers'; '' for the root. */
  path: string;
  message: string;
  /** 1-based line:column in the file when the path exists there. */
  line?: number;
  col?: number;
  /** Set when the value came from a command-line override. */
  override?: string;
}

export class ConfigError extends Error {
  readonly code = 'ERR_PIPELINE_CONFIG';
  constructor(readonly file: string, readonly problems: ConfigProblem[]) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'));
    this.name = 'ConfigError';
  }
}

function formatProblem(file: string, p: ConfigProblem): string {
  const where = p.line ? `${file}:${p.line}:${p.col ?? 1}` : file;
  const via = p.override ? ` (from override ${p.override})` : '';
  return `${where}: ${p.path || '(root)'}: ${p.message}${via}`;
}
