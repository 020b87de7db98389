import 'reflect-metadata';
import * as os from 'node:os';
import * as path from 'node:path';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { collectDefaultMetrics } from 'prom-client';
import { SigningKeyring } from '@fa/access';
import { ExportWorker } from '@fa/bulk-data';
import { kafkaIngestionFor, openAggregatorRuntime } from '@fa/composition';
import { ResourceHistoryQuery } from '@fa/fhir-store';
import { aggregateIdOf, FileIngestionService } from '@fa/ingestion';
import { createLogger, readConfig, shutdownWithDeadline } from '@fa/platform';
import { createAggregatorApp } from './app.factory';
import { DEMO_CLIENT_ID, DEMO_SCOPE, demoClientToken } from './demo-client';
import { startHealthServer } from './http/health/health-server';

const log = createLogger('aggregator');
const SAMPLE_DIR = path.resolve(__dirname, '../../../test/fixtures');
const SAMPLE_SOURCE = 'sample';
const SAMPLE_PATIENT = '3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b';

async function main(): Promise<void> {
  const withSample = process.argv.includes('--sample');
  const config = readConfig();
  const runtime = await openAggregatorRuntime(config, { logger: log });
  const keyring = SigningKeyring.fromConfig(config.auth, config.dataDir);
  // A bad AUTH_SIGNING_KEY (or an unwritable DATA_DIR) stops the start, not the first token request.
  if (config.auth.enabled && config.roles.has('api')) await keyring.signingKey();
  const app = await createAggregatorApp(runtime, {
    queryTimeoutMs: config.queryTimeoutMs,
    includeLimit: config.includeLimit,
    searchLinkLimit: config.searchLinkLimit,
    auth: {
      enabled: config.auth.enabled,
      keyring,
      tokenLifetimeSeconds: config.auth.tokenLifetimeSeconds,
      rateLimit: config.auth.rateLimit,
    },
    audit: config.audit,
    exports: config.exports,
  });
  if (!config.auth.enabled) {
    const warn = () =>
      log.warn(
        { auth: 'off' },
        'AUTH=off: every request is served without a token, with every scope. For local experiments only.',
      );
    warn();
    setInterval(warn, 60_000).unref();
  }
  const roles = config.roles;
  const kafka = roles.has('kafka')
    ? kafkaIngestionFor(app.get(CommandBus), config, { logger: log })
    : undefined;
  // Handled from here on, whatever stage start-up is at: one shutdown path, always ending within
  // SHUTDOWN_TIMEOUT (a broker that cannot be reached would otherwise keep the group leave retrying).
  // Set once started; the shutdown path (registered first) closes it.
  const started: { health?: Awaited<ReturnType<typeof startHealthServer>> } = {};
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
    void shutdownWithDeadline({
      timeoutMs: config.shutdownTimeoutMs,
      log,
      exit: (code) => process.exit(code),
      steps: [
        // First: stop consuming. Offsets are committed only after their events are durably appended.
        { name: 'kafka', run: async () => kafka?.stop() },
        { name: 'http', run: () => app.close() },
        { name: 'health', run: async () => void started.health?.close() },
        { name: 'database', run: () => runtime.close() },
      ],
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  if (roles.has('api')) await app.listen(config.port);
  else await app.init();
  started.health =
    !roles.has('api') && config.healthPort !== undefined
      ? await startHealthServer(runtime.database.pool, config.healthPort)
      : undefined;
  if (roles.has('projections')) await runtime.runner.start();
  if (roles.has('export')) app.get(ExportWorker).start();
  collectDefaultMetrics();
  await kafka?.start();
  const port = roles.has('api') ? (app.getHttpServer().address() as { port: number }).port : undefined;
  log.info(
    {
      roles: [...roles],
      port,
      healthPort: started.health ? config.healthPort : undefined,
      database: config.databaseUrl ? 'DATABASE_URL' : `embedded (${config.dataDir})`,
      auth: config.auth.enabled
        ? {
            tokenLifetimeSeconds: config.auth.tokenLifetimeSeconds,
            rateLimit: config.auth.rateLimit ?? 'off',
          }
        : 'off',
      eventStore: config.eventStore.kind,
      kafka: kafka
        ? { brokers: config.kafkaBrokers, topics: [...config.kafkaTopics.keys()] }
        : roles.has('kafka')
          ? 'off: set KAFKA_BROKERS'
          : 'off: not in ROLES',
    },
    'fhir-aggregator started',
  );

  if (withSample) {
    const files = app.get(FileIngestionService);
    const instance = `${os.hostname()}:${process.pid}`;
    const first = await files.ingest(SAMPLE_SOURCE, [path.join(SAMPLE_DIR, 'synthea-2-patients')], {
      ingestionInstance: instance,
    });
    // The update arrives a moment later, so the two versions have distinct record times for _asOf.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await files.ingest(SAMPLE_SOURCE, [path.join(SAMPLE_DIR, 'sample-update')], {
      ingestionInstance: instance,
    });
    await runtime.runner.waitForCatchUp();
    const patient = `Patient/${aggregateIdOf(SAMPLE_SOURCE, 'Patient', SAMPLE_PATIENT)}`;
    // The instant just before the newest version of the sample patient was recorded.
    const history = await app.get(QueryBus).execute(
      new ResourceHistoryQuery({
        resourceType: 'Patient',
        id: patient.split('/')[1],
        until: new Date(),
        count: 1,
      }),
    );
    const beforeUpdate = new Date(history.versions[0].recordedFrom.getTime() - 1).toISOString();
    const base = `http://localhost:${port}`;
    const demo = config.auth.enabled ? await demoClientToken(app, config.dataDir, base) : undefined;
    const curl = (url: string) =>
      demo ? `curl -H "Authorization: Bearer $TOKEN" '${url}'` : `curl '${url}'`;
    const lines = [
      '',
      `Sample loaded as source "${SAMPLE_SOURCE}": ${first.recorded + second.recorded} versions recorded now, ${first.unchanged + second.unchanged} already held.`,
      ...(demo
        ? [
            `Client "${DEMO_CLIENT_ID}" is registered (scopes: ${DEMO_SCOPE}); its key is ${demo.keyFile}.`,
            `An access token, valid ${demo.expiresIn} s:`,
            '',
            `  export TOKEN=${demo.token}`,
            '',
            'The next token (SMART Backend Services: a signed assertion for POST /auth/token):',
            `  export TOKEN=$(npm run --silent cli -- clients token --client-id ${DEMO_CLIENT_ID} --key ${demo.keyFile} --url ${base}/auth/token --scope "system/*.rs")`,
          ]
        : ['AUTH=off: no token needed.']),
      'Try:',
      `  current version     ${curl(`${base}/fhir/${patient}`)}`,
      `  as it was before    ${curl(`${base}/fhir/${patient}?_asOf=${beforeUpdate}`)}`,
      `  history             ${curl(`${base}/fhir/${patient}/_history`)}`,
      `  lineage (FHIR)      ${curl(`${base}/fhir/Provenance?target=${patient}`)}`,
      `  lineage (JSON)      ${curl(`${base}/lineage/${patient}`)}`,
      `  type history        ${curl(`${base}/fhir/Observation/_history?_count=5`)}`,
      `  search              ${curl(`${base}/fhir/Patient?family=keel&birthdate=lt2000`)}`,
      `  search as of        ${curl(`${base}/fhir/Observation?subject=${patient}&_sort=-date&_count=5&_asOf=${beforeUpdate}`)}`,
      `  $everything         ${curl(`${base}/fhir/${patient}/$everything`)}`,
      `  $everything as of   ${curl(`${base}/fhir/${patient}/$everything?_asOf=${beforeUpdate}`)}`,
      `  identity links      ${curl(`${base}/fhir/$mdm-query-links?resourceId=${patient}`)}`,
      `  capabilities        ${curl(`${base}/fhir/metadata`)}`,
      `  SMART discovery     ${curl(`${base}/fhir/.well-known/smart-configuration`)}`,
      `  projections         ${curl(`${base}/admin/projections`)}`,
      `  OpenAPI             ${base}/openapi`,
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }
}

main().catch((error: unknown) => {
  log.error(
    { err: error instanceof Error ? `${error.name}: ${error.message}` : String(error) },
    'failed to start',
  );
  process.exit(1);
});
