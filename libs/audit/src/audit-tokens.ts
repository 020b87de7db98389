/** Nest injection token of the AuditSettings (anchor directory, signing key, anchor interval). */
export const AUDIT_SETTINGS = Symbol('AUDIT_SETTINGS');
