import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { environmentTheAppReads, readRepoFile, REPO_ROOT } from './app-environment';

/**
 * `docker compose config` cannot run here (the docker CLI on these machines has no compose plugin and there is no
 * engine), so docker-compose.yml is checked for structure: what compose would refuse, and what our roles need.
 */
interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  profiles?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  volumes?: string[];
  command?: string[];
}

const compose = parse(readRepoFile('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const appServices = Object.entries(services).filter(([, s]) => s.build?.dockerfile === 'infra/Dockerfile');
const roleOf = (s: Service) => s.environment?.ROLES;

describe('docker-compose.yml', () => {
  it('gives every service an image or a build whose Dockerfile exists', () => {
    for (const [name, service] of Object.entries(services)) {
      expect([name, Boolean(service.image || service.build)]).toEqual([name, true]);
      if (service.build) {
        expect(existsSync(path.join(REPO_ROOT, service.build.context, service.build.dockerfile))).toBe(true);
      }
    }
  });

  it('depends only on services it defines, and on a profile service only as optional', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [target, dependency] of Object.entries(service.depends_on ?? {})) {
        expect([name, target, target in services]).toEqual([name, target, true]);
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(
          dependency.condition,
        );
        if (services[target].profiles?.length && !service.profiles?.length)
          expect([name, target, dependency.required]).toEqual([name, target, false]);
        if (dependency.condition === 'service_healthy')
          expect([target, Boolean(services[target].healthcheck)]).toEqual([target, true]);
      }
    }
  });

  it('has a health check on every long-running service, on /ready for the service itself', () => {
    for (const [name, service] of Object.entries(services)) {
      if (name === 'kafka-topics') continue; // one-shot
      expect([name, Boolean(service.healthcheck?.test?.length)]).toEqual([name, true]);
    }
    for (const [name, service] of [...appServices, ['proxy', services.proxy] as const]) {
      expect([name, service.healthcheck!.test.join(' ')]).toEqual([name, expect.stringContaining('/ready')]);
    }
  });

  it('splits the service by role: two API processes behind the proxy, one projections, one Kafka consumer, one exporter', () => {
    const roles = appServices.map(([, s]) => roleOf(s)).sort();
    expect(roles).toEqual(['api', 'api', 'export', 'kafka', 'projections']);
    const apis = appServices.filter(([, s]) => roleOf(s) === 'api').map(([name]) => name);
    const nginx = readRepoFile('infra/nginx/nginx.conf');
    const upstreams = [...nginx.matchAll(/^\s*server ([\w-]+):(\d+)/gm)].map((m) => [m[1], m[2]]);
    expect(upstreams).toEqual(apis.map((name) => [name, services[name].environment!.PORT]));
    expect(services.proxy.volumes).toContain('./infra/nginx/nginx.conf:/etc/nginx/nginx.conf:ro');
    expect(services.proxy.ports).toEqual(['3000:80']);
    for (const [name, service] of appServices) {
      expect([name, service.ports]).toEqual([name, undefined]);
      // A process without the api role answers its health check on HEALTH_PORT.
      const port = roleOf(service) === 'api' ? service.environment!.PORT : service.environment!.HEALTH_PORT;
      expect([name, service.healthcheck!.test.join(' ')]).toEqual([
        name,
        expect.stringContaining(`:${port}/ready`),
      ]);
    }
  });

  it('sets only environment variables the service reads, and the ones it needs', () => {
    const read = environmentTheAppReads();
    expect(read).toContain('DATABASE_URL');
    for (const [name, service] of appServices) {
      for (const variable of Object.keys(service.environment ?? {}))
        expect([name, variable, read.has(variable)]).toEqual([name, variable, true]);
      for (const needed of ['DATABASE_URL', 'ROLES', 'EVENT_STORE', 'EVENTSTORE_URL'])
        expect(Object.keys(service.environment!)).toContain(needed);
    }
    const consumer = appServices.find(([, s]) => roleOf(s) === 'kafka')![1];
    expect(consumer.environment!.KAFKA_BROKERS).toMatch(/^kafka:\d+$/);
    expect(consumer.depends_on!.kafka.condition).toBe('service_healthy');
  });

  it('the export worker writes its files to a volume every API process mounts at the same EXPORT_DIR', () => {
    const exportDir = (s: Service) => s.environment!.EXPORT_DIR;
    const mounted = (s: Service) =>
      (s.volumes ?? []).find((v) => v.split(':')[1] === exportDir(s))?.split(':')[0];
    const writers = appServices.filter(([, s]) => roleOf(s)!.split(',').includes('export'));
    const readers = appServices.filter(([, s]) => roleOf(s)!.split(',').includes('api'));
    expect(writers.length).toBeGreaterThanOrEqual(1);
    const volume = mounted(writers[0][1]);
    expect(volume).toBeDefined();
    expect(volume! in compose.volumes).toBe(true);
    for (const [name, service] of [...writers, ...readers])
      expect([name, mounted(service)]).toEqual([name, volume]);
  });

  it('runs the event log on EventStoreDB in the eventstoredb profile, PostgreSQL otherwise', () => {
    const esdb = services.eventstoredb;
    expect(esdb.profiles).toEqual(['eventstoredb']);
    for (const [, service] of appServices) {
      expect(service.environment!.EVENT_STORE).toBe('${EVENT_STORE:-postgres}');
      const url = new URL(service.environment!.EVENTSTORE_URL.replace(/^esdb:/, 'http:'));
      expect(url.hostname in services).toBe(true);
      expect(esdb.ports).toContain(`${url.port}:${url.port}`);
      expect(service.depends_on!.postgres.condition).toBe('service_healthy');
    }
  });

  it('declares the volumes it mounts and publishes each host port once', () => {
    const hostPorts = Object.values(services).flatMap((s) => (s.ports ?? []).map((p) => p.split(':')[0]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
    for (const service of Object.values(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (source.startsWith('.')) expect(existsSync(path.join(REPO_ROOT, source))).toBe(true);
        else expect(source in compose.volumes).toBe(true);
      }
    }
  });

  it('builds the image in stages and runs the compiled service', () => {
    const dockerfile = readRepoFile('infra/Dockerfile');
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toContain('CMD ["node", "dist/apps/aggregator/src/main.js"]');
    expect(dockerfile).toMatch(/^USER node$/m);
  });
});
