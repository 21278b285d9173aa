// The one kind of error a command reports to its user: a clear line (or a few) and an exit code.

/** A failure the user can act on; `message` is printed as is after "listflow: ". */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
