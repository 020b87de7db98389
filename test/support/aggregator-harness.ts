import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { EventStoreRuntime, openEventStore } from '@fa/event-store';
import { FhirStoreProjection } from '@fa/fhir-store';
import { FileIngestionService } from '@fa/ingestion';
import { createAggregatorApp } from '../../apps/aggregator/src/app.factory';
import { createTestDatabase, TestDatabase } from './test-database';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');

export interface AggregatorHarness {
  database: TestDatabase;
  runtime: EventStoreRuntime;
  app: INestApplication;
  http: () => ReturnType<typeof request>;
  ingest(source: string, paths: string[]): ReturnType<FileIngestionService['ingest']>;
  close(): Promise<void>;
}

/** The real service (HTTP app, event store, live projections) on a fresh database of the run's PostgreSQL. */
export async function startAggregator(): Promise<AggregatorHarness> {
  const database = await createTestDatabase(5);
  const runtime = await openEventStore(
    { databaseUrl: database.url, dataDir: '' },
    [new FhirStoreProjection()],
    {
      poolSize: 10,
      idleDelayMs: 10,
    },
  );
  const app = await createAggregatorApp(runtime);
  await app.init();
  await runtime.runner.start();
  return {
    database,
    runtime,
    app,
    http: () => request(app.getHttpServer()),
    ingest: async (source, paths) => {
      const result = await app.get(FileIngestionService).ingest(source, paths, { ingestionInstance: 'test' });
      await runtime.runner.waitForCatchUp();
      return result;
    },
    close: async () => {
      await app.close();
      await runtime.close();
      await database.drop();
    },
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run cli -- <args>` as a separate process against the given database. */
export function runCli(
  args: string[],
  databaseUrl: string,
  options: { onSpawn?: (child: ChildProcess) => void } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/cli/src/main.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
    });
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
