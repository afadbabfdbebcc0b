/**
 * Local failures of sluice-ctl. Both print as `cli error: ...`, like g3proxy-ctl; a usage error (bad command
 * line) exits 2, as clap does, anything else 1.
 */
export class CliError extends Error {
  readonly exitCode: number = 1;
  override get name(): string {
    return 'CliError';
  }
}

export class UsageError extends CliError {
  override readonly exitCode: number = 2;
  override get name(): string {
    return 'UsageError';
  }
}
