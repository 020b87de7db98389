import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { CommandBus } from '@nestjs/cqrs';
import {
  ChangeClientRegistryCommand,
  generateClientKeyPair,
  GrantAccessTokenCommand,
  signClientAssertion,
  tokenRequestForm,
  type ClientKeyPair,
  type RateLimit,
} from '@fa/access';
import { kafkaIngestionFor, openAggregatorRuntime } from '@fa/composition';
import type { EventStoreRuntime } from '@fa/event-store';
import type { IdentityMatcher } from '@fa/patient-identity';
import { AuditConfig, createLogger, ExportConfig, readExportConfig } from '@fa/platform';
import { ExportWorker } from '@fa/bulk-data';
import { FileIngestionService, KafkaIngestionConsumer } from '@fa/ingestion';
import { createAggregatorApp } from '../../apps/aggregator/src';
import { REPO_ROOT } from './cli-process';
import { synthea79Database } from './synthea-79-store';
import { ALL_SCOPES, TcpProxy, TestDatabase, createTestDatabase, startTcpProxy } from '@fa/testkit';

export { REPO_ROOT, runCli, type CliResult } from './cli-process';
export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');

export interface AggregatorHarness {
  database: TestDatabase;
  /** Present with { viaProxy: true }: the service reaches PostgreSQL through it, so a test can cut it. */
  databaseProxy?: TcpProxy;
  kafkaConsumers: KafkaIngestionConsumer[];
  /** Starts another Kafka consumer in this process (same group unless told otherwise). */
  startKafkaConsumer(instance: string, groupId?: string): Promise<KafkaIngestionConsumer>;
  runtime: EventStoreRuntime;
  app: INestApplication;
  /**
   * supertest on the app. Every request carries a bearer token of the test client with every scope, unless
   * `{ token: false }` (none) or `{ token: '<token>' }` (e.g. a narrower one from tokenFor) is given.
   */
  http: (options?: { token?: string | false }) => ReturnType<typeof request>;
  /** An access token of the test client for these scopes (the token endpoint's own checks apply). */
  tokenFor(scope: string): Promise<string>;
  /** The test client registered at start: its id and key pair. */
  testClient: { clientId: string; keys: ClientKeyPair };
  ingest(source: string, paths: string[]): ReturnType<FileIngestionService['ingest']>;
  /** This service's access-audit anchors and key, in a directory of its own (its DATA_DIR for the CLI). */
  audit: AuditConfig & { dataDir: string };
  close(): Promise<void>;
}

/** The real service (HTTP app, event store, live projections) on a fresh database of the run's PostgreSQL. */
export async function startAggregator(
  options: {
    viaProxy?: boolean;
    kafka?: { brokers: string[]; topics: Map<string, string | undefined>; groupId?: string };
    /** The Patient Identity matcher (default: the deployment default, IDENTITY_MODEL or the shipped model). */
    identityMatcher?: IdentityMatcher;
    /** Search / $everything statement budget (QUERY_TIMEOUT); the service's default when not given. */
    queryTimeoutMs?: number;
    /** INCLUDE_LIMIT; the service's default when not given. */
    includeLimit?: number;
    /** The PostgreSQL server to create the database on (default: the run's, DATABASE_URL). */
    serverUrl?: string;
    /** SEARCH_LINK_LIMIT: the most linked rows a chain or _has may touch (the service's default when not given). */
    searchLinkLimit?: number;
    /** Tokens required (default, as `npm start`) or AUTH=off; a per-client rate limit (default none). */
    auth?: { enabled?: boolean; rateLimit?: RateLimit };
    /** How soon after a record the audit chain head is anchored (AUDIT_ANCHOR_INTERVAL); 10 s by default. */
    auditAnchorIntervalMs?: number;
    /** Run Bulk Data export jobs in this process (ROLES=export), writing under a directory of their own. */
    exports?: Partial<ExportConfig>;
    /**
     * Start on a copy of a store built once per run instead of an empty database: 'synthea-79' holds the whole
     * export recorded from source hospital-a, projected (test/support/synthea-79-store.ts).
     */
    store?: 'synthea-79';
  } = {},
): Promise<AggregatorHarness> {
  const database =
    options.store === 'synthea-79'
      ? await synthea79Database(5, options.serverUrl)
      : await createTestDatabase(5, options.serverUrl);
  let databaseUrl = database.url;
  let databaseProxy: TcpProxy | undefined;
  if (options.viaProxy) {
    const url = new URL(database.url);
    databaseProxy = await startTcpProxy(url.hostname, Number(url.port));
    url.port = String(databaseProxy.port);
    databaseUrl = url.toString();
  }
  const runtime = await openAggregatorRuntime(
    { databaseUrl, dataDir: '' },
    {
      identityMatcher: options.identityMatcher,
      poolSize: 10,
      idleDelayMs: 10,
      // TEST_LOG=1 shows projection failures (they are retried) while debugging a test.
      logger: process.env.TEST_LOG ? createLogger('projections') : undefined,
    },
  );
  // The same layout as DATA_DIR's: a CLI given DATA_DIR=<dataDir> verifies against these anchors.
  const auditDataDir = mkdtempSync(path.join(os.tmpdir(), 'fa-audit-'));
  const audit = {
    dataDir: auditDataDir,
    anchorDir: path.join(auditDataDir, 'audit-anchors'),
    keyFile: path.join(auditDataDir, 'audit-anchor-key.pem'),
    anchorIntervalMs: options.auditAnchorIntervalMs ?? 10_000,
  };
  const app = await createAggregatorApp(runtime, {
    queryTimeoutMs: options.queryTimeoutMs,
    includeLimit: options.includeLimit,
    searchLinkLimit: options.searchLinkLimit,
    auth: { enabled: options.auth?.enabled ?? true, rateLimit: options.auth?.rateLimit },
    audit,
    exports: { ...readExportConfig({}, auditDataDir), ...options.exports },
  });
  await app.init();
  const testClient = { clientId: 'test-client', keys: await generateClientKeyPair('ES384') };
  await app.get(CommandBus).execute(
    new ChangeClientRegistryCommand({
      kind: 'register',
      clientId: testClient.clientId,
      scope: ALL_SCOPES,
      jwks: testClient.keys.publicJwks,
      by: 'test harness',
    }),
  );
  const tokenFor = async (scope: string) => {
    const tokenUrl = `${TEST_ORIGIN}/auth/token`;
    const assertion = await signClientAssertion({
      clientId: testClient.clientId,
      tokenUrl,
      privateJwk: testClient.keys.privateJwk,
    });
    const granted = await app
      .get(CommandBus)
      .execute(
        new GrantAccessTokenCommand(tokenRequestForm(assertion, scope), tokenUrl, `${TEST_ORIGIN}/fhir`),
      );
    return granted.access_token;
  };
  // Tokens live 300 s and suites run longer: a fresh full token every minute.
  let fullToken = await tokenFor(ALL_SCOPES);
  const refresh = setInterval(() => {
    tokenFor(ALL_SCOPES).then(
      (token) => (fullToken = token),
      () => undefined,
    );
  }, 60_000);
  refresh.unref();
  await runtime.runner.start();
  if (options.exports) app.get(ExportWorker).start();
  const kafkaConsumers: KafkaIngestionConsumer[] = [];
  const startKafkaConsumer = async (instance: string, groupId?: string) => {
    if (!options.kafka) throw new Error('startAggregator: no kafka options');
    const kafka = {
      kafkaBrokers: options.kafka.brokers,
      kafkaTopics: options.kafka.topics,
      kafkaGroupId: groupId ?? options.kafka.groupId ?? 'test-group',
      kafkaMaxMessageBytes: 1024 * 1024,
      // Rebalances wait for members up to the session timeout; keep test rebalances short.
      kafkaSessionTimeoutMs: 10_000,
    };
    const consumer = kafkaIngestionFor(app.get(CommandBus), kafka, {
      ingestionInstance: instance,
      // TEST_LOG=1 shows the consumer's retries and errors while debugging a test.
      logger: process.env.TEST_LOG ? createLogger(`kafka-${instance}`) : undefined,
    })!;
    await consumer.start();
    kafkaConsumers.push(consumer);
    return consumer;
  };
  return {
    database,
    databaseProxy,
    kafkaConsumers,
    startKafkaConsumer,
    runtime,
    app,
    http: (httpOptions = {}) => {
      const token = httpOptions.token === undefined ? fullToken : httpOptions.token;
      return token ? withBearer(request(app.getHttpServer()), token) : request(app.getHttpServer());
    },
    tokenFor,
    testClient,
    ingest: async (source, paths) => {
      const result = await app.get(FileIngestionService).ingest(source, paths, { ingestionInstance: 'test' });
      // A whole export's projections take a while beside another worker's suite on a small machine: the
      // test's own timeout bounds the wait, not the runner's 60 s default.
      await runtime.runner.waitForCatchUp(INGEST_CATCH_UP_MS);
      return result;
    },
    audit,
    close: async () => {
      clearInterval(refresh);
      await Promise.all(kafkaConsumers.map((c) => c.stop()));
      await databaseProxy?.restore();
      await app.close();
      await runtime.close();
      await database.drop();
      await databaseProxy?.close();
      rmSync(auditDataDir, { recursive: true, force: true });
    },
  };
}

const INGEST_CATCH_UP_MS = 600_000;

/** The origin supertest's requests name (Host 127.0.0.1:<port> differs per run; tokens are not bound to it). */
const TEST_ORIGIN = 'http://127.0.0.1';

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options']);

/** supertest whose every request carries the bearer token (a request may still set its own Authorization). */
function withBearer(agent: ReturnType<typeof request>, token: string): ReturnType<typeof request> {
  return new Proxy(agent, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof property !== 'string' || !METHODS.has(property) || typeof value !== 'function') return value;
      return (url: string) =>
        (value as (url: string) => request.Test).call(target, url).set('Authorization', `Bearer ${token}`);
    },
  });
}

/** The service (`apps/aggregator/src/main.ts`) as a process of its own, on a free port, logging at info. */
export async function startServiceProcess(
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/aggregator/src/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const port = await new Promise<number>((resolve, reject) => {
    const seen = () => {
      const line = out.split('\n').find((l) => l.includes('"msg":"fhir-aggregator started"'));
      if (!line) return;
      child.stdout!.off('data', seen);
      resolve(Number(/"port":(\d+)/.exec(line)![1]));
    };
    child.stdout!.on('data', seen);
    child.once('exit', (code) =>
      reject(new Error(`the service exited (${code}) before it started: ${out.slice(-500)}`)),
    );
  });
  return { child, port, output: () => out };
}
