/** What tests and benches may use of the service: the HTTP application on an opened runtime. */
export { createAggregatorApp } from './app.factory';
/** The route-table test reads every route's policy by this metadata key. */
export { ACCESS_POLICY, type AccessPolicy } from './http/security/access-policy';
