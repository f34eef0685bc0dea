// The two ways a run ends badly: bad input (exit 2) or a run that could not finish (exit 1).

/** Bad input: names the field, the value and what is allowed. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** CLI flag (`--policy`) or JSON path (`coiommu.unpinIntervalMs`). */
  readonly field: string;
  /** The value as the user wrote it; undefined when it is missing. */
  readonly value: string | undefined;
  /** What is allowed, e.g. `allowed values are static, coiommu`. */
  readonly allowed: string;
  /** Config file the value came from, if any. */
  readonly source?: string;
  /** JSON path in the scenario, when the field names one. */
  readonly path?: string;

  constructor(field: string, value: string | undefined, allowed: string, opts: { source?: string; path?: string } = {}) {
    const where = opts.source ? ` in config file ${opts.source}` : '';
    super(value === undefined ? `missing ${field}${where}: ${allowed}` : `invalid ${field} "${value}"${where}: ${allowed}`);
    this.field = field;
    this.value = value;
    this.allowed = allowed;
    this.source = opts.source;
    this.path = opts.path;
  }
}

/** A run that could not finish: a role crashed, hung or broke an invariant it cannot go on from. */
export class RunError extends Error {
  constructor(
    message: string,
    /** The role (e.g. "device", "guest 0") the failure is pinned on, if any. */
    readonly role?: string,
  ) {
    super(message);
    this.name = 'RunError';
  }
}
