import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { AuditEvent, Bundle, CapabilityStatement, Patient } from 'fhir/r4';
import { AccessRecord, chainHash } from '@fa/audit';
import { eventually } from '@fa/testkit';
import { AggregatorHarness, FIXTURES, runCli, startAggregator } from './support/aggregator-harness';

const ACCESS_POLICY = 'fa:access-policy';

interface Row {
  seq: string;
  prev_hash: string;
  hash: string;
  record: AccessRecord;
}

/** The access audit: every audited route's answer has a record, in a hash chain that `audit verify` checks. */
describe('access audit (AuditEvent, hash chain, anchors)', () => {
  let harness: AggregatorHarness;
  let patients: string[];
  let n = 0;
  const requestId = (label: string) => `audit-${label}-${++n}`;
  const recordOf = async (id: string): Promise<Row | undefined> =>
    (
      await harness.database.pool.query<Row>(
        `SELECT seq, prev_hash, hash, record FROM audit.records WHERE record->>'requestId' = $1`,
        [id],
      )
    ).rows[0];
  const verify = () =>
    runCli(['audit', 'verify'], harness.database.url, { env: { DATA_DIR: harness.audit.dataDir } });

  beforeAll(async () => {
    harness = await startAggregator({ auditAnchorIntervalMs: 100 });
    await harness.ingest('audit-src', [path.join(FIXTURES, 'synthea-2-patients')]);
    const bundle = (await harness.http().get('/fhir/Patient').expect(200)).body as Bundle<Patient>;
    patients = bundle.entry!.map((e) => `Patient/${e.resource!.id}`).sort();
    expect(patients).toHaveLength(2);
  });
  afterAll(() => harness.close());

  it('every route carries an access policy the audit finds on the route Express matched', () => {
    const express = harness.app.getHttpAdapter().getInstance() as {
      router: { stack: { route?: { path: string; stack: { handle: object }[] } }[] };
    };
    // The OpenAPI pages are SwaggerModule's own Express routes, not Nest handlers: no data (audited as undeclared).
    const routes = express.router.stack.filter(
      (layer) => layer.route && !layer.route.path.startsWith('/openapi'),
    );
    expect(routes.length).toBeGreaterThan(20);
    const without = routes
      .filter((layer) => !layer.route!.stack.some((l) => Reflect.getMetadata(ACCESS_POLICY, l.handle)))
      .map((layer) => layer.route!.path);
    expect(without).toEqual([]);
  });

  it('records a read with the patient, the query, the address and the token client and its scopes', async () => {
    const id = requestId('read');
    const [, patientId] = patients[0].split('/');
    const read = await harness
      .http()
      .get(`/fhir/Patient/${patientId}?_asOf=2999`)
      .set('x-request-id', id)
      .expect(200);
    const row = await recordOf(id);
    expect(row?.record).toMatchObject({
      requestId: id,
      client: 'test-client',
      scopes: expect.arrayContaining(['system/*.cruds', 'system/fhir-aggregator.audit']),
      method: 'GET',
      route: '/fhir/:type/:id',
      interaction: 'read',
      query: `/fhir/Patient/${patientId}?_asOf=2999`,
      patients: [patients[0]],
      status: 200,
    });
    expect(row!.record.address).toMatch(/127\.0\.0\.1|::1/);

    // Only what was sent counts: a conditional read answered 304 and a HEAD carry no body, so no patient.
    const unchanged = requestId('not-modified');
    await harness
      .http()
      .get(`/fhir/Patient/${patientId}`)
      .set('If-None-Match', read.headers.etag as string)
      .set('x-request-id', unchanged)
      .expect(304);
    expect((await recordOf(unchanged))!.record).toMatchObject({ status: 304, patients: [] });
    const head = requestId('head');
    await harness.http().head(`/fhir/Patient/${patientId}`).set('x-request-id', head).expect(200);
    expect((await recordOf(head))!.record).toMatchObject({ method: 'HEAD', status: 200, patients: [] });
  });

  it('derives the patients from what was sent: a search, $everything, a search by POST form', async () => {
    const search = requestId('search');
    await harness.http().get('/fhir/Observation?_count=5').set('x-request-id', search).expect(200);
    const sent = (await harness.http().get('/fhir/Observation?_count=5').expect(200)).body as Bundle;
    const subjects = [
      ...new Set(
        sent.entry!.map(
          (e) => (e.resource as unknown as { subject: { reference: string } }).subject.reference,
        ),
      ),
    ];
    expect((await recordOf(search))!.record).toMatchObject({
      interaction: 'search',
      patients: subjects.sort(),
    });

    const everything = requestId('everything');
    await harness
      .http()
      .get(`/fhir/${patients[1]}/$everything?_count=20`)
      .set('x-request-id', everything)
      .expect(200);
    expect((await recordOf(everything))!.record).toMatchObject({
      interaction: 'operation:everything',
      patients: [patients[1]],
    });

    const form = requestId('form');
    await harness
      .http()
      .post('/fhir/Patient/_search')
      .type('form')
      .send({ gender: 'female,male' })
      .set('x-request-id', form)
      .expect(200);
    expect((await recordOf(form))!.record).toMatchObject({
      query: '/fhir/Patient/_search?gender=female%2Cmale',
      patients,
    });
  });

  it('records refusals and failures with their outcome; public routes and unrouted requests are not recorded', async () => {
    const missing = requestId('missing');
    await harness.http().get('/fhir/Patient/no-such-one').set('x-request-id', missing).expect(404);
    expect((await recordOf(missing))!.record).toMatchObject({ status: 404, patients: [] });
    const bad = requestId('bad');
    await harness.http().get('/fhir/Observation?date=notadate').set('x-request-id', bad).expect(400);
    expect((await recordOf(bad))!.record.status).toBe(400);
    const admin = requestId('admin');
    await harness.http().get('/admin/projections').set('x-request-id', admin).expect(200);
    expect((await recordOf(admin))!.record.interaction).toBe('administration');

    const metadata = requestId('metadata');
    await harness.http().get('/fhir/metadata').set('x-request-id', metadata).expect(200);
    const health = requestId('health');
    await harness.http().get('/health').set('x-request-id', health).expect(200);
    const hostile = requestId('hostile');
    await harness.http().get('/fhir/Patient?name=%00').set('x-request-id', hostile).expect(400);
    expect(await recordOf(metadata)).toBeUndefined();
    expect(await recordOf(health)).toBeUndefined();
    expect(await recordOf(hostile)).toBeUndefined();
  });

  it('serves the audit as BALP AuditEvents by patient, agent and date, paged; reading it is audited', async () => {
    const before = new Date().toISOString();
    const id = requestId('by-patient');
    await harness.http().get(`/fhir/${patients[0]}`).set('x-request-id', id).expect(200);
    const reader = requestId('reader');
    const page = (
      await harness
        .http()
        .get(`/fhir/AuditEvent?patient=${patients[0]}&date=ge${before}&agent=test-client&_count=1`)
        .set('x-request-id', reader)
        .expect(200)
    ).body as Bundle<AuditEvent>;
    expect(page.entry).toHaveLength(1);
    const event = page.entry![0].resource!;
    expect(event).toMatchObject({
      resourceType: 'AuditEvent',
      type: { code: 'rest' },
      subtype: [{ code: 'read' }, { code: 'read' }],
      action: 'R',
      outcome: '0',
    });
    expect(event.agent[0]).toMatchObject({
      requestor: true,
      who: { identifier: { system: 'urn:fhir-aggregator:client-id', value: 'test-client' } },
    });
    const query = event.entity!.find((e) => e.role?.code === '24')!;
    expect(Buffer.from(query.query!, 'base64').toString()).toBe(`/fhir/${patients[0]}`);
    expect(event.entity!.filter((e) => e.role?.code === '1').map((e) => e.what!.reference)).toEqual([
      patients[0],
    ]);
    // Older records of that patient are on the next page.
    const all = (await harness.http().get(`/fhir/AuditEvent?patient=${patients[0]}&_count=1`).expect(200))
      .body as Bundle<AuditEvent>;
    const next = all.link!.find((l) => l.relation === 'next')!.url.replace(/^https?:\/\/[^/]+/, '');
    const second = (await harness.http().get(next).expect(200)).body as Bundle<AuditEvent>;
    expect(Number(second.entry![0].resource!.id)).toBeLessThan(Number(all.entry![0].resource!.id));
    expect((await recordOf(reader))!.record).toMatchObject({
      route: '/fhir/AuditEvent',
      interaction: 'search',
    });
    const none = (await harness.http().get(`/fhir/AuditEvent?agent=some-client`).expect(200)).body as Bundle;
    expect(none.entry).toEqual([]);
    // A request without a token is refused and recorded with no agent and no patient.
    await harness.http({ token: false }).get('/fhir/Patient').expect(401);
    const unnamed = (await harness.http().get('/fhir/AuditEvent?patient:missing=true&agent:missing=true'))
      .body as Bundle<AuditEvent>;
    expect(unnamed.entry!.length).toBeGreaterThan(0);
    for (const entry of unnamed.entry!)
      expect(entry.resource!.entity!.filter((e) => e.role?.code === '1')).toEqual([]);
    const posted = (
      await harness
        .http()
        .post('/fhir/AuditEvent/_search')
        .type('form')
        .send({ patient: patients[0], _count: '1' })
        .expect(200)
    ).body as Bundle<AuditEvent>;
    expect(posted.entry![0].resource!.id).toBe(all.entry![0].resource!.id);
    const one = (await harness.http().get(`/fhir/AuditEvent/${event.id}`).expect(200)).body as AuditEvent;
    expect(one).toEqual(event);
    await harness.http().get('/fhir/AuditEvent/999999').expect(404);
    const statement = (await harness.http().get('/fhir/metadata').expect(200)).body as CapabilityStatement;
    const audit = statement.rest![0].resource!.find((r) => r.type === 'AuditEvent')!;
    expect(audit.searchParam!.map((p) => p.name)).toEqual(['patient', 'date', 'agent', '_asOf']);
  });

  it('answers bad AuditEvent parameters with 400 naming the parameter', async () => {
    for (const [query, parameter] of [
      ['date=yesterday', 'date'],
      ['date=ne2024', 'date'],
      ['patient=Patient/$$', 'patient'],
      ['agent=a%20b', 'agent'],
      ['_count=many', '_count'],
      ['_count=-1', '_count'],
      ['patient:missing=maybe', 'patient:missing'],
      ['_cursor=abc', '_cursor'],
      ['_asOf=soon', '_asOf'],
    ]) {
      const response = await harness.http().get(`/fhir/AuditEvent?${query}`).expect(400);
      expect(response.body.issue[0].expression).toEqual([parameter]);
    }
    const strict = await harness
      .http()
      .get('/fhir/AuditEvent?colour=red')
      .set('Prefer', 'handling=strict')
      .expect(400);
    expect(strict.body.issue[0].expression).toEqual(['colour']);
  });

  it('verify passes untouched and names the record altered, deleted or inserted in PostgreSQL', async () => {
    const pool = harness.database.pool;
    // Wait for the head to be anchored, then for the file to hold it.
    const anchorFile = path.join(harness.audit.anchorDir, 'anchors.jsonl');
    const head = async () =>
      Number((await pool.query<{ head_seq: string }>('SELECT head_seq FROM audit.chain')).rows[0].head_seq);
    const anchoredTo = async () => {
      const text = await fs.readFile(anchorFile, 'utf8').catch(() => '');
      const lines = text.trim().split('\n').filter(Boolean);
      return lines.length ? (JSON.parse(lines[lines.length - 1]) as { seq: number }).seq : 0;
    };
    const last = await head();
    await eventually(anchoredTo, (seq) => seq === last, 10_000);

    const ok = await verify();
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(new RegExp(`ok, ${last} records verified .*anchored up to record ${last}`));
    expect(ok.code).toBe(0);

    const target = 3;
    const { rows } = await pool.query<Row>('SELECT * FROM audit.records WHERE seq = $1', [target]);
    const original = rows[0];

    await pool.query(
      `UPDATE audit.records SET record = jsonb_set(record, '{client}', '"someone"') WHERE seq = $1`,
      [target],
    );
    const altered = await verify();
    expect(altered.code).toBe(1);
    expect(altered.stderr).toContain(`FAILED at record ${target} (altered)`);
    await pool.query('UPDATE audit.records SET record = $2 WHERE seq = $1', [target, original.record]);

    await pool.query('DELETE FROM audit.records WHERE seq = $1', [target]);
    const deleted = await verify();
    expect(deleted.code).toBe(1);
    expect(deleted.stderr).toContain(`FAILED at record ${target} (deleted)`);
    await pool.query('INSERT INTO audit.records (seq, prev_hash, hash, record) VALUES ($1, $2, $3, $4)', [
      target,
      original.prev_hash,
      original.hash,
      original.record,
    ]);

    // An extra record after the head, linked and hashed as the service would have (the algorithm is public).
    const lastRow = (await pool.query<Row>('SELECT * FROM audit.records WHERE seq = $1', [last])).rows[0];
    const forged = { ...lastRow.record, requestId: 'forged' };
    await pool.query('INSERT INTO audit.records (seq, prev_hash, hash, record) VALUES ($1, $2, $3, $4)', [
      last + 1,
      lastRow.hash,
      chainHash(last + 1, lastRow.hash, forged),
      forged,
    ]);
    const inserted = await verify();
    expect(inserted.code).toBe(1);
    expect(inserted.stderr).toContain(`FAILED at record ${last + 1} (inserted)`);
    // One with a made-up predecessor hash in the middle of nowhere: it does not link.
    await pool.query('UPDATE audit.records SET prev_hash = $2, hash = $3 WHERE seq = $1', [
      last + 1,
      'f'.repeat(64),
      chainHash(last + 1, 'f'.repeat(64), forged),
    ]);
    const unlinked = await verify();
    expect(unlinked.code).toBe(1);
    expect(unlinked.stderr).toContain(`FAILED at record ${last + 1} (inserted)`);
    await pool.query('DELETE FROM audit.records WHERE seq = $1', [last + 1]);

    // Deleting the tail and moving the head row back: only the signed anchor still knows.
    await pool.query('DELETE FROM audit.records WHERE seq = $1', [last]);
    await pool.query('UPDATE audit.chain SET head_seq = $1, head_hash = $2', [last - 1, lastRow.prev_hash]);
    const tail = await verify();
    expect(tail.code).toBe(1);
    expect(tail.stderr).toContain(`FAILED at record ${last} (deleted)`);
    expect(tail.stderr).toContain('a signed anchor');
  }, 120_000);
});
