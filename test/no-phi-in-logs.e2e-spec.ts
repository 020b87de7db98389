import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { signClientAssertion, tokenRequestForm } from '@fa/access';
import { createTestDatabase, registerServiceClient } from '@fa/testkit';
import { FIXTURES, REPO_ROOT } from './support/aggregator-harness';

/**
 * The service as `npm run demo` runs it, at LOG_LEVEL=info, then driven with the patients' names and birth dates
 * in query strings, good and bad tokens, refused assertions and failing requests: its log lines (every JSON line
 * on stdout and stderr) hold none of those names, birth dates, tokens or assertions.
 */
interface Patient {
  name?: { family?: string; given?: string[] }[];
  birthDate?: string;
}

async function patientsOf(folder: string): Promise<Patient[]> {
  const text = await fs.readFile(path.join(FIXTURES, folder, 'Patient.ndjson'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Patient);
}

describe('no PHI, tokens or assertions in the logs of a served session', () => {
  it('logs ids, counts and routes only, whatever the requests carried', async () => {
    const database = await createTestDatabase(5);
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-logs-'));
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', 'apps/aggregator/src/main.ts', '--sample'],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          DATABASE_URL: database.url,
          DATA_DIR: dataDir,
          PORT: '0',
          ROLES: 'api,projections',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    try {
      const origin = await new Promise<string>((resolve, reject) => {
        const poll = setInterval(() => {
          const base = /current version\s+curl .*'(http:\/\/[^/]+)\/fhir/.exec(output);
          if (base && output.includes('OpenAPI')) {
            clearInterval(poll);
            resolve(base[1]);
          }
        }, 100);
        child.once('exit', (code) => {
          clearInterval(poll);
          reject(new Error(`service exited ${code}: ${output}`));
        });
      });
      const patients = [...(await patientsOf('synthea-2-patients')), ...(await patientsOf('sample-update'))];
      const client = await registerServiceClient(database.pool, 'log-reader', 'system/*.rs');
      const token = await client.token(origin);
      const authorized = { authorization: `Bearer ${token}` };
      const middle = token.length - 20;
      const tampered = `${token.slice(0, middle)}${token[middle] === 'A' ? 'B' : 'A'}${token.slice(middle + 1)}`;
      const get = (url: string, headers: Record<string, string> = authorized) =>
        fetch(`${origin}${url}`, { headers }).then(async (r) => ({ status: r.status, body: await r.text() }));

      const secrets = new Set<string>([token, token.split('.')[2]]);
      for (const patient of patients) {
        const family = patient.name?.[0]?.family;
        const given = patient.name?.[0]?.given?.[0];
        if (family) secrets.add(family);
        if (given) secrets.add(given);
        if (patient.birthDate) secrets.add(patient.birthDate);
        const found = await get(
          `/fhir/Patient?family=${encodeURIComponent(family ?? '')}&birthdate=${patient.birthDate}`,
        );
        expect(found.status).toBe(200);
        expect(found.body).toContain(patient.birthDate);
        // Refused requests quote what they refuse to the client, never to the log.
        expect((await get(`/fhir/Patient?birthdate=not-${patient.birthDate}`)).status).toBe(400);
        expect((await get(`/fhir/Patient?family=${family}`, {})).status).toBe(401);
        expect(
          (await get(`/fhir/Patient?family=${family}`, { authorization: `Bearer ${tampered}` })).status,
        ).toBe(401);
        expect((await get(`/fhir/Patient/${given}/$everything`)).status).toBe(404);
      }
      const assertion = await signClientAssertion({
        clientId: client.clientId,
        tokenUrl: 'https://wrong.example/token',
        privateJwk: client.keys.privateJwk,
      });
      secrets.add(assertion);
      const refused = await fetch(`${origin}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(tokenRequestForm(assertion, 'system/*.rs')),
      });
      expect(refused.status).toBe(401);

      const logLines = output.split('\n').filter((line) => line.startsWith('{'));
      expect(logLines.some((line) => line.includes('"msg":"fhir-aggregator started"'))).toBe(true);
      const leaks = [...secrets].filter((s) => s.length >= 4 && logLines.some((line) => line.includes(s)));
      expect(leaks).toEqual([]);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
      await database.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
