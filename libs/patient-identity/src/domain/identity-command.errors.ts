/**
 * A reviewer's command that cannot apply to the identity state as it stands: unknown golden or source patient
 * (404), a rule it would break (422), or a stream that changed between reading and appending (409: read again).
 */
export class IdentityCommandRejected extends Error {
  constructor(
    readonly reason:
      'unknown-golden' | 'unknown-source-patient' | 'golden-merged' | 'same-golden' | 'concurrent-change',
    message: string,
  ) {
    super(message);
    this.name = 'IdentityCommandRejected';
  }
}
