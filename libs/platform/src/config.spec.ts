import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseEventStore, parseRoles, parseSeconds, readConfig, readIdentityConfig } from './config';

describe('ROLES', () => {
  it('defaults to every role', () => {
    expect([...readConfig({}).roles].sort()).toEqual(['api', 'export', 'kafka', 'projections']);
  });

  it('takes a comma-separated subset, spaces allowed', () => {
    expect([...parseRoles(' kafka , projections ')].sort()).toEqual(['kafka', 'projections']);
  });

  it('names the unknown role, and refuses none at all', () => {
    expect(() => parseRoles('api,workers')).toThrow(
      'ROLES: "workers" is not one of api, projections, kafka, export',
    );
    expect(() => parseRoles(' , ')).toThrow('ROLES: name at least one of api, projections, kafka, export');
  });
});

describe('IDENTITY_* settings', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'fa-config-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to the shipped model and thresholds 0.99 / 0.5', () => {
    expect(readIdentityConfig({})).toEqual({
      model: undefined,
      matchProbability: 0.99,
      possibleMatchProbability: 0.5,
      survivorship: undefined,
    });
    expect(readConfig({}).identity.matchProbability).toBe(0.99);
  });

  it('reads the model file and the survivorship JSON once, at start', () => {
    const file = path.join(dir, 'model.json');
    writeFileSync(file, '{"priorMatchProbability":0.01,"fields":[]}');
    const config = readIdentityConfig({
      IDENTITY_MODEL: file,
      IDENTITY_MATCH_PROBABILITY: '0.995',
      IDENTITY_POSSIBLE_MATCH_PROBABILITY: '0.7',
      IDENTITY_SURVIVORSHIP: '{"trustedSources":["registry"]}',
    });
    expect(config).toEqual({
      model: { path: file, parameters: { priorMatchProbability: 0.01, fields: [] } },
      matchProbability: 0.995,
      possibleMatchProbability: 0.7,
      survivorship: { trustedSources: ['registry'] },
    });
  });

  it('stops with a message naming the setting for each bad value', () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"fields": [');
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ IDENTITY_MATCH_PROBABILITY: 'high' }, /IDENTITY_MATCH_PROBABILITY must be a probability .*"high"/],
      [{ IDENTITY_MATCH_PROBABILITY: '1' }, /IDENTITY_MATCH_PROBABILITY must be .* strictly between 0 and 1/],
      [{ IDENTITY_POSSIBLE_MATCH_PROBABILITY: '0' }, /IDENTITY_POSSIBLE_MATCH_PROBABILITY must be/],
      [
        { IDENTITY_MATCH_PROBABILITY: '0.9', IDENTITY_POSSIBLE_MATCH_PROBABILITY: '0.95' },
        /IDENTITY_POSSIBLE_MATCH_PROBABILITY \(0.95\) must not exceed IDENTITY_MATCH_PROBABILITY \(0.9\)/,
      ],
      [{ IDENTITY_MODEL: path.join(dir, 'missing.json') }, /IDENTITY_MODEL: cannot read .*missing\.json/],
      [{ IDENTITY_MODEL: bad }, /IDENTITY_MODEL: .*bad\.json is not JSON/],
      [{ IDENTITY_SURVIVORSHIP: '{rules:' }, /IDENTITY_SURVIVORSHIP: is not JSON/],
    ];
    for (const [env, message] of cases) {
      expect(() => readIdentityConfig(env)).toThrow(message);
      expect(() => readConfig(env)).toThrow(message);
    }
  });
});

describe('durations in seconds', () => {
  it('SEARCH_LINK_LIMIT defaults to 50,000 and takes only a positive whole number', () => {
    expect(readConfig({}).searchLinkLimit).toBe(50_000);
    expect(readConfig({ SEARCH_LINK_LIMIT: '500' }).searchLinkLimit).toBe(500);
    for (const bad of ['0', '-1', '1.5', 'many'])
      expect(() => readConfig({ SEARCH_LINK_LIMIT: bad })).toThrow('SEARCH_LINK_LIMIT');
  });

  it('SHUTDOWN_TIMEOUT defaults to 20 s and QUERY_TIMEOUT to 30 s; both take fractions', () => {
    expect(readConfig({})).toMatchObject({ shutdownTimeoutMs: 20_000, queryTimeoutMs: 30_000 });
    expect(readConfig({ SHUTDOWN_TIMEOUT: '5', QUERY_TIMEOUT: '0.25' })).toMatchObject({
      shutdownTimeoutMs: 5000,
      queryTimeoutMs: 250,
    });
  });

  it('refuses what is not a number of seconds, naming the variable', () => {
    expect(() => parseSeconds('SHUTDOWN_TIMEOUT', '20s', 1)).toThrow(
      'SHUTDOWN_TIMEOUT must be a number of seconds, got "20s"',
    );
    expect(() => parseSeconds('QUERY_TIMEOUT', '-1', 1)).toThrow('QUERY_TIMEOUT');
  });
});

describe('INCLUDE_LIMIT', () => {
  it('defaults to 1000 and takes a whole number of at least 1, refusing anything else by name', () => {
    expect(readConfig({}).includeLimit).toBe(1000);
    expect(readConfig({ INCLUDE_LIMIT: '50' }).includeLimit).toBe(50);
    for (const bad of ['0', '-5', '1.5', 'many'])
      expect(() => readConfig({ INCLUDE_LIMIT: bad })).toThrow(
        'INCLUDE_LIMIT must be a whole number of at least 1',
      );
  });
});

describe('EVENT_STORE', () => {
  it('defaults to PostgreSQL', () => {
    expect(readConfig({}).eventStore).toEqual({ kind: 'postgres' });
    expect(parseEventStore('postgres', 'esdb://ignored:2113')).toEqual({ kind: 'postgres' });
  });

  it('selects EventStoreDB with its connection string', () => {
    expect(
      readConfig({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb://esdb:2113?tls=false' }).eventStore,
    ).toEqual({ kind: 'eventstoredb', url: 'esdb://esdb:2113?tls=false' });
    expect(parseEventStore('eventstoredb', 'esdb+discover://a:2113,b:2113').kind).toBe('eventstoredb');
  });

  it('says what is missing or wrong, without echoing a password', () => {
    expect(() => parseEventStore('eventstoredb', undefined)).toThrow(
      'EVENT_STORE=eventstoredb needs EVENTSTORE_URL (e.g. esdb://localhost:2113?tls=false)',
    );
    expect(() => parseEventStore('kurrent', undefined)).toThrow(
      'EVENT_STORE: "kurrent" is not one of postgres, eventstoredb',
    );
    const wrong = () => parseEventStore('eventstoredb', 'http://admin:secret@esdb:2113');
    expect(wrong).toThrow('EVENTSTORE_URL must be an EventStoreDB connection string');
    expect(wrong).not.toThrow(/secret/);
  });
});

describe('HEALTH_PORT', () => {
  it('is off by default and must be a TCP port', () => {
    expect(readConfig({}).healthPort).toBeUndefined();
    expect(readConfig({ HEALTH_PORT: '9464' }).healthPort).toBe(9464);
    expect(() => readConfig({ HEALTH_PORT: 'http' })).toThrow('HEALTH_PORT must be a TCP port, got http');
  });
});
