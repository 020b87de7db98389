/**
 * The one answer to "will trying again help?" for a failure on the ingest or query path.
 *
 * - transient: the store or network is unavailable or busy (connection lost or refused, server shutting
 *   down or starting, too many connections, serialization failure or deadlock, out of resources): retry.
 * - permanent: the input itself cannot be stored or evaluated (bad content, constraint violations, values
 *   over PostgreSQL's limits, a deterministic JavaScript error on that input): retrying gives the same
 *   answer, so the one input that caused it is rejected and everything else goes on.
 *
 * Unknown failures count as transient: retrying something permanent stalls, but never loses anything.
 */
export type FailureKind = 'transient' | 'permanent';

/** SQLSTATE classes whose every code is permanent for the statement's input. */
const PERMANENT_SQLSTATE_CLASSES = new Set([
  '22', // data exception: 22P05 untranslatable character, 22021 invalid byte sequence, 22P02, 22003 …
  '23', // integrity constraint violation
  '54', // program limit exceeded: 54000 (index row or jsonb too large), 54001 statement too complex
  '42', // syntax error or access rule violation on generated SQL: the same input fails the same way
  '2B', // dependent privilege descriptors still exist
]);

/** SQLSTATE classes and codes worth retrying. */
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '40', '53', '55', '57', '58', 'XX']);

/** Node system error codes of a lost or unreachable peer. */
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The SQLSTATE of a PostgreSQL error (pg sets `code` to it), else undefined. */
export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function classifyFailure(error: unknown): FailureKind {
  return knownFailureKind(error) ?? 'transient';
}

/** classifyFailure without the default: undefined for a failure nothing marks as either. */
export function knownFailureKind(error: unknown): FailureKind | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const sqlState = sqlStateOf(error);
  if (sqlState) {
    // 57014 query_canceled is a statement_timeout: that query, not the server, is the problem.
    if (sqlState === '57014') return 'permanent';
    const sqlClass = sqlState.slice(0, 2);
    if (PERMANENT_SQLSTATE_CLASSES.has(sqlClass)) return 'permanent';
    if (TRANSIENT_SQLSTATE_CLASSES.has(sqlClass)) return 'transient';
    return undefined;
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_SYSTEM_CODES.has(code)) return 'transient';
  // Errors marked by our own code (e.g. a rejected input deep inside a handler).
  if ((error as { permanent?: unknown }).permanent === true) return 'permanent';
  // Deterministic failures of JavaScript on the input itself: stack overflow on deep nesting, a string or
  // array over V8's limits, a value of the wrong shape.
  const lost = error instanceof Error && /connection|socket|terminat|timeout|ECONN/i.test(error.message);
  if (error instanceof RangeError || error instanceof TypeError || error instanceof SyntaxError) {
    return lost ? 'transient' : 'permanent';
  }
  return lost ? 'transient' : undefined;
}

/** A short, PHI-free description of a failure: its SQLSTATE and PostgreSQL's message, never its detail. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 200);
  const sqlState = sqlStateOf(error);
  return sqlState
    ? `PostgreSQL error ${sqlState}: ${error.message.slice(0, 300)}`
    : `${error.name}: ${error.message.slice(0, 300)}`;
}
