import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface AppConfig {
  /** Explicit PostgreSQL server; without it an embedded PostgreSQL runs under DATA_DIR. */
  databaseUrl?: string;
  dataDir: string;
  port: number;
  logLevel: string;
  kafkaBrokers: string[];
  /** Topic → source system ("topic=source"); a topic without a source takes it from each message's header. */
  kafkaTopics: Map<string, string | undefined>;
  kafkaGroupId: string;
  /** Messages larger than this go to the dead-letter topic unread. */
  kafkaMaxMessageBytes: number;
  /** How long the group waits for a silent member (e.g. one killed with -9) before moving its partitions. */
  kafkaSessionTimeoutMs: number;
  /** What this process does; several processes with different roles share one database (and Kafka group). */
  roles: ReadonlySet<ServiceRole>;
  identity: IdentityConfig;
  /** SHUTDOWN_TIMEOUT (seconds): after a signal, how long a clean shutdown may take before the process exits 1. */
  shutdownTimeoutMs: number;
  /** QUERY_TIMEOUT (seconds): PostgreSQL's statement_timeout for each statement of a search or $everything. */
  queryTimeoutMs: number;
  /** INCLUDE_LIMIT: the most resources _include and _revinclude add to one page of a search. */
  includeLimit: number;
  /** SEARCH_LINK_LIMIT: the most linked rows one chain or _has may touch; a search over it is refused (400). */
  searchLinkLimit: number;
  /** A process without the api role serves /health, /ready and /metrics here (HEALTH_PORT; off when unset). */
  healthPort?: number;
  /** Where the event log lives: PostgreSQL (DATABASE_URL or embedded) or EventStoreDB at EVENTSTORE_URL. */
  eventStore: EventStoreChoice;
  auth: AuthConfig;
  /** The access audit's anchors outside the database and the key that signs them. */
  audit: AuditConfig;
  /** Bulk Data export files (EXPORT_DIR, EXPORT_MAX_FILE_BYTES ...). */
  exports: ExportConfig;
}

/** SMART Backend Services tokens and scopes (AUTH, AUTH_SIGNING_KEY, AUTH_TOKEN_LIFETIME, AUTH_RATE_LIMIT ...). */
export interface AuthConfig {
  /** AUTH: on unless "off" (local experiments only: the service warns at start and every minute). */
  enabled: boolean;
  /** AUTH_SIGNING_KEY: a PKCS#8 PEM private key (EC P-384 or RSA), or a file holding one; else keys in DATA_DIR. */
  signingKey?: string;
  /** AUTH_TOKEN_LIFETIME (seconds, at most 300, default 300): how long an access token is valid. */
  tokenLifetimeSeconds: number;
  /** AUTH_KEY_ROTATION (seconds, default a day): age at which the DATA_DIR signing key is replaced. */
  keyRotationMs: number;
  /** AUTH_RATE_LIMIT ("<per second>[,<burst>]", default 200,400; "off"): a token bucket per client id. */
  rateLimit?: { perSecond: number; burst: number };
}

export const MAX_TOKEN_LIFETIME_SECONDS = 300;

/** AUTH_RATE_LIMIT: "<per second>[,<burst>]" (burst defaults to twice the rate), or "off". */
export function parseRateLimit(value: string | undefined): AuthConfig['rateLimit'] {
  if (value === undefined || value.trim() === '') return { perSecond: 200, burst: 400 };
  if (value.trim() === 'off') return undefined;
  const [rate, burst] = value.split(',').map((part) => Number(part.trim()));
  const limit = { perSecond: rate, burst: burst ?? rate * 2 };
  if (!(limit.perSecond > 0) || !(limit.burst >= 1) || !Number.isFinite(limit.perSecond + limit.burst))
    throw new Error(
      `AUTH_RATE_LIMIT must be "<requests per second>[,<burst>]" or "off", got ${JSON.stringify(value)}`,
    );
  return limit;
}

export function readAuthConfig(env: NodeJS.ProcessEnv = process.env): AuthConfig {
  const mode = (env.AUTH ?? 'on').trim();
  if (!['on', 'off', ''].includes(mode))
    throw new Error(`AUTH must be "on" or "off", got ${JSON.stringify(mode)}`);
  const tokenLifetimeMs = parseSeconds(
    'AUTH_TOKEN_LIFETIME',
    env.AUTH_TOKEN_LIFETIME,
    MAX_TOKEN_LIFETIME_SECONDS * 1000,
  );
  if (tokenLifetimeMs < 1000 || tokenLifetimeMs > MAX_TOKEN_LIFETIME_SECONDS * 1000)
    throw new Error(`AUTH_TOKEN_LIFETIME must be 1 to ${MAX_TOKEN_LIFETIME_SECONDS} seconds`);
  const keyRotationMs = parseSeconds('AUTH_KEY_ROTATION', env.AUTH_KEY_ROTATION, 24 * 3600_000);
  if (keyRotationMs < 2 * tokenLifetimeMs)
    throw new Error('AUTH_KEY_ROTATION must be at least twice AUTH_TOKEN_LIFETIME');
  return {
    enabled: mode !== 'off',
    signingKey: env.AUTH_SIGNING_KEY || undefined,
    tokenLifetimeSeconds: Math.floor(tokenLifetimeMs / 1000),
    keyRotationMs,
    rateLimit: parseRateLimit(env.AUTH_RATE_LIMIT),
  };
}

/** The access audit's signed checkpoints of its hash chain, kept outside the database. */
export interface AuditConfig {
  /** AUDIT_ANCHOR_DIR, else DATA_DIR/audit-anchors: the append-only anchor file (anchors.jsonl). */
  anchorDir: string;
  /** DATA_DIR/audit-anchor-key.pem: the Ed25519 key that signs the anchors (created at first use, mode 0600). */
  keyFile: string;
  /** AUDIT_ANCHOR_INTERVAL (seconds, default 10): at most this long between a record and its anchor. */
  anchorIntervalMs: number;
}

export function readAuditConfig(
  env: NodeJS.ProcessEnv = process.env,
  dataDir = path.resolve(env.DATA_DIR ?? '.data'),
): AuditConfig {
  const anchorIntervalMs = parseSeconds('AUDIT_ANCHOR_INTERVAL', env.AUDIT_ANCHOR_INTERVAL, 10_000);
  if (anchorIntervalMs < 1) throw new Error('AUDIT_ANCHOR_INTERVAL must be more than 0 seconds');
  return {
    anchorDir: path.resolve(env.AUDIT_ANCHOR_DIR || path.join(dataDir, 'audit-anchors')),
    keyFile: path.join(dataDir, 'audit-anchor-key.pem'),
    anchorIntervalMs,
  };
}

/** Bulk Data `$export`: where its files go and how they are cut, kept and shared out. */
export interface ExportConfig {
  /** EXPORT_DIR, else DATA_DIR/exports: one directory per job. */
  dir: string;
  /** EXPORT_MAX_FILE_BYTES (default 100 MB): a file of a type is split before it passes this size. */
  maxFileBytes: number;
  /** EXPORT_PAGE_SIZE (default 1000): resources read per page, and between two checkpoints of a job. */
  pageSize: number;
  /** EXPORT_EXPIRES (seconds, default 1 hour): how long a completed export's files are kept. */
  expiresAfterMs: number;
  /** EXPORT_MAX_JOBS_PER_CLIENT (default 2): running exports per client; more are answered 429. */
  maxJobsPerClient: number;
}

export function readExportConfig(
  env: NodeJS.ProcessEnv = process.env,
  dataDir = path.resolve(env.DATA_DIR ?? '.data'),
): ExportConfig {
  const expiresAfterMs = parseSeconds('EXPORT_EXPIRES', env.EXPORT_EXPIRES, 3600_000);
  if (expiresAfterMs < 1000) throw new Error('EXPORT_EXPIRES must be at least 1 second');
  return {
    dir: path.resolve(env.EXPORT_DIR || path.join(dataDir, 'exports')),
    maxFileBytes: parsePositiveInteger('EXPORT_MAX_FILE_BYTES', env.EXPORT_MAX_FILE_BYTES, 100 * 1024 * 1024),
    pageSize: parsePositiveInteger('EXPORT_PAGE_SIZE', env.EXPORT_PAGE_SIZE, 1000),
    expiresAfterMs,
    maxJobsPerClient: parsePositiveInteger('EXPORT_MAX_JOBS_PER_CLIENT', env.EXPORT_MAX_JOBS_PER_CLIENT, 2),
  };
}

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
export const DEFAULT_INCLUDE_LIMIT = 1000;
export const DEFAULT_SEARCH_LINK_LIMIT = 50_000;

/** A whole number of at least 1 from the environment. */
export function parsePositiveInteger(name: string, value: string | undefined, defaultValue: number): number {
  if (value === undefined || value.trim() === '') return defaultValue;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1)
    throw new Error(`${name} must be a whole number of at least 1, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** A duration in seconds (fractions allowed) from the environment, as milliseconds; 0 or more. */
export function parseSeconds(name: string, value: string | undefined, defaultMs: number): number {
  if (value === undefined || value.trim() === '') return defaultMs;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new Error(`${name} must be a number of seconds, got ${JSON.stringify(value)}`);
  return Math.round(seconds * 1000);
}

/** Patient matching and golden patients (the patient-identity context checks the shapes it alone knows). */
export interface IdentityConfig {
  /** IDENTITY_MODEL: the model file `cli identity-fit` wrote, read and parsed at start; absent: the shipped one. */
  model?: { path: string; parameters: unknown };
  /** IDENTITY_MATCH_PROBABILITY (0.99): links automatically at or above it. */
  matchProbability: number;
  /** IDENTITY_POSSIBLE_MATCH_PROBABILITY (0.5): links provisionally and asks for review at or above it. */
  possibleMatchProbability: number;
  /** IDENTITY_SURVIVORSHIP: per-field rules and trusted sources, parsed JSON. */
  survivorship?: unknown;
}

function probability(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n >= 1)
    throw new Error(`${name} must be a probability strictly between 0 and 1, got ${JSON.stringify(value)}`);
  return n;
}

function json(name: string, text: string, where = ''): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${name}: ${where}is not JSON (${(error as Error).message})`);
  }
}

/** The IDENTITY_* settings, validated: a bad value stops the start with a message naming it. */
export function readIdentityConfig(env: NodeJS.ProcessEnv = process.env): IdentityConfig {
  const matchProbability = probability(env, 'IDENTITY_MATCH_PROBABILITY', 0.99);
  const possibleMatchProbability = probability(env, 'IDENTITY_POSSIBLE_MATCH_PROBABILITY', 0.5);
  if (possibleMatchProbability > matchProbability) {
    throw new Error(
      `IDENTITY_POSSIBLE_MATCH_PROBABILITY (${possibleMatchProbability}) must not exceed IDENTITY_MATCH_PROBABILITY (${matchProbability})`,
    );
  }
  let model: IdentityConfig['model'];
  if (env.IDENTITY_MODEL) {
    const file = path.resolve(env.IDENTITY_MODEL);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`IDENTITY_MODEL: cannot read ${file} (${(error as Error).message})`);
    }
    model = { path: file, parameters: json('IDENTITY_MODEL', text, `${file} `) };
  }
  const survivorship = env.IDENTITY_SURVIVORSHIP
    ? json('IDENTITY_SURVIVORSHIP', env.IDENTITY_SURVIVORSHIP)
    : undefined;
  return { model, matchProbability, possibleMatchProbability, survivorship };
}

export type EventStoreChoice = { kind: 'postgres' } | { kind: 'eventstoredb'; url: string };

/**
 * EVENT_STORE: "postgres" (default) or "eventstoredb", which needs EVENTSTORE_URL (esdb://host:2113?tls=false,
 * esdb+discover://… for a cluster). Read models and checkpoints stay in PostgreSQL either way.
 */
export function parseEventStore(kind: string | undefined, url: string | undefined): EventStoreChoice {
  const choice = (kind ?? 'postgres').trim() || 'postgres';
  if (choice === 'postgres') return { kind: 'postgres' };
  if (choice !== 'eventstoredb')
    throw new Error(`EVENT_STORE: ${JSON.stringify(choice)} is not one of postgres, eventstoredb`);
  if (!url)
    throw new Error('EVENT_STORE=eventstoredb needs EVENTSTORE_URL (e.g. esdb://localhost:2113?tls=false)');
  if (!/^esdb(\+discover)?:\/\/[^/?#\s]+/.test(url))
    throw new Error(
      `EVENTSTORE_URL must be an EventStoreDB connection string (esdb://host:port?tls=false or esdb+discover://…), got ${JSON.stringify(url.replace(/\/\/[^@/]*@/, '//***@'))}`,
    );
  return { kind: 'eventstoredb', url };
}

export const SERVICE_ROLES = ['api', 'projections', 'kafka', 'export'] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];

/**
 * ROLES: "api,projections,kafka,export" (the default: everything). api serves HTTP, projections runs the projection
 * loops, kafka consumes KAFKA_TOPICS, export runs Bulk Data export jobs. Processes split by role spread the work over cores and machines.
 */
export function parseRoles(value: string | undefined): ReadonlySet<ServiceRole> {
  const items = (value ?? SERVICE_ROLES.join(','))
    .split(',')
    .map((role) => role.trim())
    .filter(Boolean);
  for (const item of items) {
    if (!(SERVICE_ROLES as readonly string[]).includes(item))
      throw new Error(`ROLES: ${JSON.stringify(item)} is not one of ${SERVICE_ROLES.join(', ')}`);
  }
  if (items.length === 0) throw new Error(`ROLES: name at least one of ${SERVICE_ROLES.join(', ')}`);
  return new Set(items as ServiceRole[]);
}

/** KAFKA_TOPICS: "ehr-a=hospital-a,claims=payer-x,shared" (shared: the `source` header names the source). */
export function parseKafkaTopics(value: string | undefined): Map<string, string | undefined> {
  const topics = new Map<string, string | undefined>();
  for (const item of (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)) {
    const [topic, source] = item.split('=').map((part) => part.trim());
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic))
      throw new Error(`KAFKA_TOPICS: ${JSON.stringify(topic)} is not a Kafka topic name`);
    topics.set(topic, source || undefined);
  }
  return topics;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be a TCP port, got ${env.PORT}`);
  const healthPort = env.HEALTH_PORT ? Number(env.HEALTH_PORT) : undefined;
  if (healthPort !== undefined && (!Number.isInteger(healthPort) || healthPort < 1 || healthPort > 65535))
    throw new Error(`HEALTH_PORT must be a TCP port, got ${env.HEALTH_PORT}`);
  const dataDir = path.resolve(env.DATA_DIR ?? '.data');
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    healthPort,
    dataDir,
    port,
    logLevel: env.LOG_LEVEL ?? 'info',
    kafkaBrokers: (env.KAFKA_BROKERS ?? '')
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    kafkaTopics: parseKafkaTopics(env.KAFKA_TOPICS ?? 'fhir'),
    kafkaGroupId: env.KAFKA_GROUP_ID ?? 'fhir-aggregator',
    kafkaMaxMessageBytes: Number(env.KAFKA_MAX_MESSAGE_BYTES ?? 16 * 1024 * 1024),
    kafkaSessionTimeoutMs: Number(env.KAFKA_SESSION_TIMEOUT_MS ?? 30_000),
    roles: parseRoles(env.ROLES),
    identity: readIdentityConfig(env),
    shutdownTimeoutMs: parseSeconds('SHUTDOWN_TIMEOUT', env.SHUTDOWN_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT_MS),
    queryTimeoutMs: parseSeconds('QUERY_TIMEOUT', env.QUERY_TIMEOUT, DEFAULT_QUERY_TIMEOUT_MS),
    includeLimit: parsePositiveInteger('INCLUDE_LIMIT', env.INCLUDE_LIMIT, DEFAULT_INCLUDE_LIMIT),
    searchLinkLimit: parsePositiveInteger(
      'SEARCH_LINK_LIMIT',
      env.SEARCH_LINK_LIMIT,
      DEFAULT_SEARCH_LINK_LIMIT,
    ),
    eventStore: parseEventStore(env.EVENT_STORE, env.EVENTSTORE_URL),
    auth: readAuthConfig(env),
    audit: readAuditConfig(env, dataDir),
    exports: readExportConfig(env, dataDir),
  };
}
