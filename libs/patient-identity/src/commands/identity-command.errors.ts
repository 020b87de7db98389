/** A reviewer's command that cannot apply to the identity state as it stands (answered 404 / 422). */
export class IdentityCommandRejected extends Error {
  constructor(
    readonly reason: 'unknown-golden' | 'unknown-source-patient' | 'golden-merged' | 'same-golden',
    message: string,
  ) {
    super(message);
    this.name = 'IdentityCommandRejected';
  }
}
