import pino, { Logger } from 'pino';

/**
 * Structured JSON logs. Log ids, counts, positions and correlation ids only: never names, birth dates,
 * identifiers or resource bodies (PHI) at info level.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { service: 'fhir-aggregator', component: name } });
}

export type { Logger };
