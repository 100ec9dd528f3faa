// Errors the bench reports to the user: a code to match on and a message that
// names the bad input. The CLI prints them without a stack and exits 2.

export type EvalErrorCode =
  | 'bad_option'
  | 'bad_manifest'
  | 'missing_audio'
  | 'bad_thresholds'
  | 'unknown_preset'
  | 'level_not_run';

export class EvalError extends Error {
  readonly code: EvalErrorCode;
  constructor(code: EvalErrorCode, message: string) {
    super(message);
    this.name = 'EvalError';
    this.code = code;
  }
}
