import { SetMetadata } from '@nestjs/common';

/**
 * Who may call a route: declared once on every route handler, read by the authorization guard (scopes), by the
 * access audit (what the interaction was) and by the test that walks the route table (a route without a policy
 * fails it). Contract shared by the security issue's guard and audit and by every context's routes.
 *
 * - `public`: callable without a token (metadata, SMART configuration, health, the token endpoint); say why.
 * - `resource`: FHIR data of one resource type. `resource` is a fixed type, ':type' (the route's `type` path
 *   parameter) or '*' (system-level routes across types: the token needs the permission on some type, and the
 *   route returns only the types it may read); `permission` is the SMART v2 letter the token's scope must grant for it (r read/vread/history,
 *   s search, c create, u update, d delete). `mixedTypes` marks routes whose answers can hold other types
 *   ($everything, _include, _history across types), which the guard filters to what the token may read.
 *   `reads` names the other types an answer holds unfiltered (a summary, a timeline, claims with their
 *   adjudication): the token must read each of them whole, or the request is 403 naming the missing ones.
 * - `scope`: one of our own scopes (administration, MDM, audit, reviews ...), named in full.
 */
export type AccessPolicy =
  | { readonly public: string }
  | {
      readonly resource: string;
      readonly permission: 'r' | 's' | 'c' | 'u' | 'd';
      readonly mixedTypes?: boolean;
      readonly reads?: readonly string[];
      readonly interaction: AuditedInteraction;
    }
  | { readonly scope: AggregatorScope; readonly interaction: AuditedInteraction };

/** Our own scopes, beyond SMART's resource scopes. */
export type AggregatorScope =
  | 'system/fhir-aggregator.admin'
  | 'system/fhir-aggregator.mdm'
  | 'system/fhir-aggregator.audit'
  | 'system/fhir-aggregator.review'
  | 'system/fhir-aggregator.analytics';

/** What the access audit records the request as (FHIR restful interactions, plus operations by name). */
export type AuditedInteraction =
  | 'read'
  | 'vread'
  | 'history'
  | 'search'
  | 'create'
  | 'update'
  | 'delete'
  | `operation:${string}`
  | 'lineage'
  | 'administration';

export const ACCESS_POLICY = 'fa:access-policy';

/** Declares a route's access policy; every route handler carries exactly one. */
export const Access = (policy: AccessPolicy) => SetMetadata(ACCESS_POLICY, policy);

/**
 * The caller, once the guard has checked its token: set on the request as `request.principal` (absent only on
 * public routes and with AUTH=off, where it is the configured local principal).
 */
export interface Principal {
  readonly clientId: string;
  /** Granted scopes as the token carries them (SMART v2 form; v1 requests are mapped before granting). */
  readonly scopes: readonly string[];
}

export function principalOf(request: object): Principal | undefined {
  return (request as { principal?: Principal }).principal;
}
