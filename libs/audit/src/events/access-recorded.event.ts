/**
 * The audit log's one kind of entry: an access to data or administration was answered. It is appended to the
 * audit's own hash-chained log (audit.records), never to the event store: the audit must be durable before the
 * response leaves, in the request's path, and must not depend on the store it audits.
 */
export const ACCESS_RECORDED = 'AccessRecorded';

/** What the chain hashes (canonical JSON): ids, codes and the query, never a response body. */
export interface AccessRecord {
  /** When the answer was ready to leave (ISO instant, milliseconds, UTC). */
  readonly recorded: string;
  /** The x-request-id the response carries. */
  readonly requestId: string;
  /** The token's client id; null when no principal was established (no guard yet, a refusal, a public route). */
  readonly client: string | null;
  /** The scopes granted to the caller (empty without a principal). */
  readonly scopes: readonly string[];
  /** The caller's network address as the server saw it. */
  readonly address: string;
  readonly method: string;
  /** The route's pattern (`/fhir/:type/:id`), never the ids themselves. */
  readonly route: string;
  /** The route's declared interaction (access policy), `public` for a public route, `undeclared` without one. */
  readonly interaction: string;
  /** What was asked: path and query string, plus a search's form parameters (BALP entity.query). */
  readonly query: string;
  /** `Patient/<id>` of every patient whose data the response carried, sorted, once each. */
  readonly patients: readonly string[];
  /** The HTTP status sent. */
  readonly status: number;
  /** Which part of a streamed answer this record covers (1, 2, …; each before its bytes left); absent: all. */
  readonly part?: number;
}

/** A record as stored: its place in the chain and the hashes that link it. */
export interface ChainedAccessRecord {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  readonly record: AccessRecord;
}

export type AuditLogEvent = { readonly type: typeof ACCESS_RECORDED; readonly data: ChainedAccessRecord };
