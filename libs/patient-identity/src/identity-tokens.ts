/** Nest injection token of the deployment's SurvivorshipPolicy (IDENTITY_SURVIVORSHIP). */
export const SURVIVORSHIP_POLICY = Symbol('SURVIVORSHIP_POLICY');
