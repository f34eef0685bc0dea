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
