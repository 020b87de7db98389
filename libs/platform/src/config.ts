import * as path from 'node:path';

export interface AppConfig {
  /** Explicit PostgreSQL server; without it an embedded PostgreSQL runs under DATA_DIR. */
  databaseUrl?: string;
  dataDir: string;
  port: number;
  logLevel: string;
  kafkaBrokers: string[];
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be a TCP port, got ${env.PORT}`);
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.DATA_DIR ?? '.data'),
    port,
    logLevel: env.LOG_LEVEL ?? 'info',
    kafkaBrokers: (env.KAFKA_BROKERS ?? '')
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  };
}
