import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { v5 as uuidv5 } from 'uuid';
import { AGGREGATOR_NAMESPACE } from '@fa/ingestion';
import { generateDuplicateClaims, type GeneratedClaimsSource } from '@fa/testkit';
import { AggregatorHarness, REPO_ROOT, startAggregator } from './support/aggregator-harness';

const SYNTHEA_79 =
  process.env.SYNTHEA_79_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'data', 'synthea-79');
const A = 'synthea';
const B = 'clearinghouse';
const PATIENTS = 26;
const FILES = ['Patient', 'Claim', 'ExplanationOfBenefit'].map((t) =>
  path.join(SYNTHEA_79, `${t}.ndjson.gz`),
);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The documented id rule, restated rather than imported: UUIDv5 of "source|type|id". */
const ourId = (source: string, type: string, id: string) =>
  uuidv5(`${source}|${type}|${id}`, AGGREGATOR_NAMESPACE);
const refId = (reference: string) => reference.split('/').pop()!;
const cents = (n: number) => Math.round(n * 100);

async function ndjsonGz(file: string): Promise<Json[]> {
  return gunzipSync(await fs.readFile(file))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

/** Sums by patient, computed from the NDJSON the sources sent: what the read models must hold. */
function expectedModels(
  sources: { source: string; claims: Json[]; eobs: Json[]; coverages: Json[]; responses: Json[] }[],
) {
  const billed = new Map<string, number>();
  const paid = new Map<string, number>();
  let claims = 0;
  let lines = 0;
  let adjudications = 0;
  let eobCoverages = 0;
  let coverages = 0;
  let responseLines = 0;
  const responsePaid = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  for (const { source, claims: cs, eobs, coverages: cov, responses } of sources) {
    for (const r of responses) {
      for (const item of r.item ?? []) {
        responseLines++;
        const p = item.adjudication.find((a: Json) => a.category.coding[0].code === 'benefit');
        add(responsePaid, ourId(source, 'Patient', refId(r.patient.reference)), cents(p.amount.value));
      }
    }
    for (const c of cs) {
      claims++;
      lines += c.item?.length ?? 0;
      add(billed, ourId(source, 'Patient', refId(c.patient.reference)), cents(c.total?.value ?? 0));
    }
    for (const e of eobs) {
      adjudications += e.item?.length ?? 0;
      eobCoverages += (e.contained ?? []).filter((r: Json) => r.resourceType === 'Coverage').length;
      for (const item of e.item ?? []) {
        const p = (item.adjudication ?? []).find((a: Json) =>
          a.category.coding.some((c: Json) => c.code === 'benefit' || c.code.endsWith('/line_prvdr_pmt_amt')),
        );
        if (p) add(paid, ourId(source, 'Patient', refId(e.patient.reference)), cents(p.amount.value));
      }
    }
    coverages += cov.length;
  }
  return { claims, lines, adjudications, eobCoverages, coverages, billed, paid, responseLines, responsePaid };
}

describe('Revenue Cycle: claims read models as views, duplicate-claim detection across sources, claims questions as of a date', () => {
  let harness: AggregatorHarness;
  let dir: string;
  let original: { claims: Json[]; eobs: Json[]; patients: Json[] };
  let generated: GeneratedClaimsSource;
  let between: string;
  /** The second source's patient a reviewer separated, its golden patient before, and an instant before that. */
  let separated: { patientB: string; golden: string; beforeUnlink: string } | undefined;

  const sql = async (text: string, values: unknown[] = []) =>
    (await harness.database.pool.query(text, values)).rows;

  beforeAll(async () => {
    harness = await startAggregator();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-revenue-'));
    // A third of synthea-79's patients with their claims and EOBs: every shape of the export, a third of the time.
    const [allPatients, allClaims, allEobs] = await Promise.all(FILES.map(ndjsonGz));
    const patients = allPatients.slice(0, PATIENTS);
    const kept = new Set(patients.map((p) => `Patient/${p.id}`));
    const claims = allClaims.filter((c) => kept.has(c.patient.reference));
    const eobs = allEobs.filter((e) => kept.has(e.patient.reference));
    original = { patients, claims, eobs };
    generated = generateDuplicateClaims({ claims, patients }, { seed: 16 });
    const write = (file: string, rows: Json[]) =>
      fs.writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    for (const source of [A, B]) await fs.mkdir(path.join(dir, source));
    await write(path.join(dir, A, 'Patient.ndjson'), patients);
    await write(path.join(dir, A, 'Claim.ndjson'), claims);
    await write(path.join(dir, A, 'ExplanationOfBenefit.ndjson'), eobs);
    await write(path.join(dir, B, 'Patient.ndjson'), generated.patients);
    await write(path.join(dir, B, 'Coverage.ndjson'), generated.coverages);
    await write(path.join(dir, B, 'Claim.ndjson'), generated.claims);
    await write(path.join(dir, B, 'ClaimResponse.ndjson'), generated.claimResponses);

    const files = (source: string, types: string[]) =>
      types.map((t) => path.join(dir, source, `${t}.ndjson`));
    await harness.ingest(A, files(A, ['Patient', 'Claim', 'ExplanationOfBenefit']));
    await new Promise((resolve) => setTimeout(resolve, 10));
    between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const ingestedB = await harness.ingest(B, files(B, ['Patient', 'Coverage', 'Claim', 'ClaimResponse']));
    expect(ingestedB).toMatchObject({ rejected: [] });
    await harness.runtime.runner.waitForCatchUp();
  }, 300_000);
  afterAll(async () => {
    await harness?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('materializes claim, claim_line, eob_adjudication, claim_response_adjudication and coverage_period with the NDJSON counts and sums, now and between the ingests', async () => {
    const check = async (asOf: string, want: ReturnType<typeof expectedModels>) => {
      const [counts] = await sql(
        `SELECT (SELECT count(*) FROM analytics.claim($1))::int AS claims,
                (SELECT count(*) FROM analytics.claim_line($1))::int AS lines,
                (SELECT count(*) FROM analytics.eob_adjudication($1))::int AS adjudications,
                (SELECT count(*) FROM analytics.coverage_period_eob($1))::int AS eob_coverages,
                (SELECT count(*) FROM analytics.coverage_period($1))::int AS coverages,
                (SELECT count(*) FROM analytics.claim_response_adjudication($1))::int AS response_lines`,
        [asOf],
      );
      expect(counts).toEqual({
        claims: want.claims,
        lines: want.lines,
        adjudications: want.adjudications,
        eob_coverages: want.eobCoverages,
        coverages: want.coverages,
        response_lines: want.responseLines,
      });
      const responsePaid = await sql(
        `SELECT patient_id, round(sum(paid) * 100)::bigint AS cents FROM analytics.claim_response_adjudication($1)
          GROUP BY patient_id`,
        [asOf],
      );
      expect(new Map(responsePaid.map((r) => [r.patient_id, Number(r.cents)]))).toEqual(want.responsePaid);
      const billed = await sql(
        `SELECT patient_id, round(sum(total) * 100)::bigint AS cents FROM analytics.claim($1) GROUP BY patient_id`,
        [asOf],
      );
      expect(new Map(billed.map((r) => [r.patient_id, Number(r.cents)]))).toEqual(want.billed);
      const paid = await sql(
        `SELECT patient_id, round(sum(paid) * 100)::bigint AS cents FROM analytics.eob_adjudication($1)
          WHERE paid IS NOT NULL GROUP BY patient_id`,
        [asOf],
      );
      // Sums of cents rounded per line by the computation, per total by SQL: within a cent per line.
      const paidNow = new Map(paid.map((r) => [r.patient_id, Number(r.cents)]));
      expect([...paidNow.keys()].sort()).toEqual([...want.paid.keys()].sort());
      for (const [patient, c] of want.paid)
        expect(Math.abs(paidNow.get(patient)! - c)).toBeLessThanOrEqual(50);
    };
    const a = { source: A, claims: original.claims, eobs: original.eobs, coverages: [], responses: [] };
    const b = {
      source: B,
      claims: generated.claims,
      eobs: [],
      coverages: generated.coverages,
      responses: generated.claimResponses,
    };
    expect(generated.claimResponses.length).toBeGreaterThan(0);
    await check(new Date().toISOString(), expectedModels([a, b]));
    await check(between, expectedModels([a]));
  });

  it('finds exact duplicates with precision and recall 1.0 and suspects with recall >= 0.95 at precision >= 0.9; no adjustment or repeat is flagged', async () => {
    const findings = (
      await harness
        .http()
        .get('/fhir/DetectedIssue')
        .query({ _count: 1000, status: 'preliminary' })
        .expect(200)
    ).body.entry.map((e: Json) => e.resource);
    const idOfB = new Map(generated.truth.map((t) => [ourId(B, 'Claim', t.claimId), t]));
    const pairKey = (x: string, y: string) => [x, y].sort().join('|');
    const truthPairs = (kind: string) =>
      new Set(
        generated.truth
          .filter((t) => t.kind === kind)
          .map((t) => pairKey(ourId(B, 'Claim', t.claimId), ourId(A, 'Claim', t.of!.claimId))),
      );
    const found = (kind: string) =>
      findings
        .filter((f: Json) => f.code.coding[0].code === kind)
        .map((f: Json) => f.implicated.map((r: Json) => refId(r.reference)))
        // Findings within synthea-79 itself (its own same-day claims) are not the generated source's to judge.
        .filter(([x, y]: string[]) => idOfB.has(x) || idOfB.has(y))
        .map(([x, y]: string[]) => pairKey(x, y));
    const score = (kind: string) => {
      const truth = truthPairs(kind);
      const got = found(kind);
      const hits = got.filter((p: string) => truth.has(p)).length;
      return { precision: got.length ? hits / got.length : 0, recall: hits / truth.size, found: got.length };
    };
    const exact = score('exact');
    const suspect = score('suspect');
    console.log(
      `duplicate-claim detection: exact ${JSON.stringify(exact)}, suspect ${JSON.stringify(suspect)}`,
    );
    expect(exact.precision).toBe(1);
    expect(exact.recall).toBe(1);
    expect(suspect.recall).toBeGreaterThanOrEqual(0.95);
    expect(suspect.precision).toBeGreaterThanOrEqual(0.9);
    const legitimate = new Set(
      generated.truth
        .filter((t) => t.kind === 'adjustment' || t.kind === 'modifier-repeat' || t.kind === 'units')
        .map((t) => ourId(B, 'Claim', t.claimId)),
    );
    const flagged = findings.filter((f: Json) =>
      f.implicated.some((r: Json) => legitimate.has(refId(r.reference))),
    );
    expect(flagged).toEqual([]);
    // The finding names the rule and the fields, and both claims.
    const one = findings.find((f: Json) => f.code.coding[0].code === 'exact');
    expect(one.detail).toMatch(
      /^exact-institutional: Claim\/\S+ duplicates Claim\/\S+ on patient, provider, from, through, typeOfBill, lines, billed/,
    );
    expect(one.implicated).toHaveLength(2);
  });

  it('serves findings as DetectedIssue by patient, date and kind, as of any instant; a reviewer confirms one', async () => {
    const exact = generated.truth.find((t) => t.kind === 'exact')!;
    const seed = original.claims.find((c) => c.id === exact.of!.claimId)!;
    const sourcePatient = ourId(B, 'Patient', refId(seed.patient.reference));
    const day = seed.billablePeriod.start.slice(0, 10);
    const search = (query: Record<string, string>) =>
      harness
        .http()
        .get('/fhir/DetectedIssue')
        .query(query)
        .expect(200)
        .then((r) => (r.body.entry ?? []).map((e: Json) => e.resource));
    const mine = await search({ patient: `Patient/${sourcePatient}`, date: day, kind: 'exact' });
    expect(mine).toHaveLength(1);
    const issue = mine[0];
    expect(issue.implicated.map((r: Json) => r.reference).sort()).toEqual(
      [`Claim/${ourId(B, 'Claim', exact.claimId)}`, `Claim/${ourId(A, 'Claim', seed.id)}`].sort(),
    );
    expect(issue.status).toBe('preliminary');
    // The golden patient's id finds it too, and nothing was found before the second source arrived.
    expect(
      (await search({ patient: issue.patient.reference, kind: 'exact', date: `ge${day}` })).map(
        (i: Json) => i.id,
      ),
    ).toContain(issue.id);
    // Before the second source: its patient was not known, and the first source's patient had no such finding.
    await harness
      .http()
      .get('/fhir/DetectedIssue')
      .query({ patient: `Patient/${sourcePatient}`, _asOf: between })
      .expect(404);
    const sourceA = ourId(A, 'Patient', refId(seed.patient.reference));
    const earlier = await search({ patient: `Patient/${sourceA}`, _asOf: between, _count: '1000' });
    expect(earlier.map((i: Json) => i.id)).not.toContain(issue.id);
    expect(
      (await search({ patient: `Patient/${sourceA}`, _count: '1000' })).map((i: Json) => i.id),
    ).toContain(issue.id);
    const before = await search({ patient: `Patient/${sourcePatient}`, date: `lt${day}`, _count: '1000' });
    expect(before.map((i: Json) => i.id)).not.toContain(issue.id);
    expect(before.every((i: Json) => / \(service date (\d{4}-\d{2}-\d{2})\)$/.exec(i.detail)![1] < day)).toBe(
      true,
    );

    const beforeReview = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const reviewed = await harness
      .http()
      .post(`/fhir/DetectedIssue/${issue.id}/$duplicate-claim-review`)
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'resolution', valueCode: 'confirmed' },
          { name: 'note', valueString: 'same bill twice' },
        ],
      })
      .expect(200);
    expect(reviewed.body.status).toBe('final');
    await harness.runtime.runner.waitForCatchUp();
    const now = (await harness.http().get(`/fhir/DetectedIssue/${issue.id}`).expect(200)).body;
    expect(now.status).toBe('final');
    expect(now.mitigation[0].action.text).toBe('confirmed by reviewer:test-client: same bill twice');
    const then = (
      await harness.http().get(`/fhir/DetectedIssue/${issue.id}`).query({ _asOf: beforeReview }).expect(200)
    ).body;
    expect(then.status).toBe('preliminary');
    await harness.http().get(`/fhir/DetectedIssue/${issue.id}`).query({ _asOf: between }).expect(404);
    // The same finding for analysts, in plain SQL: now, as of before the review, and before the second source.
    const state = (at: string | null) =>
      sql(
        `SELECT kind, rule, claim_id, duplicate_of, status, matched_fields, recorded_to
           FROM revenue_cycle.duplicate_claim_findings($1) WHERE finding_id = $2`,
        [at, issue.id],
      );
    const implicated = issue.implicated.map((r: Json) => refId(r.reference)).sort();
    const [current] = await state(null);
    expect(current).toMatchObject({ kind: 'exact', status: 'confirmed', recorded_to: null });
    expect([current.claim_id, current.duplicate_of].sort()).toEqual(implicated);
    expect(current.matched_fields).toEqual(expect.arrayContaining(['patient', 'provider', 'billed']));
    const [earlierState] = await state(beforeReview);
    expect(earlierState).toMatchObject({ kind: 'exact', status: 'open', rule: current.rule });
    expect(earlierState.recorded_to).not.toBeNull();
    expect(await state(between)).toEqual([]);
    const [{ open }] = await sql(
      `SELECT count(*)::int AS open FROM revenue_cycle.duplicate_claim_findings() WHERE status = 'open'`,
    );
    const served = await harness
      .http()
      .get('/fhir/DetectedIssue')
      .query({ status: 'preliminary', _summary: 'count' })
      .expect(200);
    expect(served.body.total).toBe(open);

    const bad = await harness
      .http()
      .post(`/fhir/DetectedIssue/${issue.id}/$duplicate-claim-review`)
      .send({ resourceType: 'Parameters', parameter: [{ name: 'resolution', valueCode: 'maybe' }] })
      .expect(400);
    expect(bad.body.issue[0].expression).toEqual(['resolution']);
    const unknown = await harness.http().get('/fhir/DetectedIssue').query({ kind: 'fuzzy' }).expect(400);
    expect(unknown.body.issue[0].expression).toEqual(['kind']);
    expect(
      (await harness.http().get('/fhir/DetectedIssue').query({ date: 'soon' }).expect(400)).body.issue[0]
        .expression,
    ).toEqual(['date']);
  });

  it('a later version of a claim re-evaluates its findings: a cancelled duplicate is withdrawn', async () => {
    const exact = generated.truth.filter((t) => t.kind === 'exact')[1];
    const claim = generated.claims.find((c) => c.id === exact.claimId)!;
    const file = path.join(dir, 'Claim-cancelled.ndjson');
    await fs.writeFile(file, JSON.stringify({ ...claim, status: 'cancelled' }) + '\n');
    const beforeCancel = new Date().toISOString();
    await harness.ingest(B, [file]);
    await harness.runtime.runner.waitForCatchUp();
    const claimId = ourId(B, 'Claim', claim.id);
    const rows = await sql(
      `SELECT status FROM revenue_cycle.findings WHERE claim_id = $1 OR duplicate_of = $1 ORDER BY recorded_from`,
      [claimId],
    );
    expect(rows.map((r) => r.status)).toEqual(['open', 'withdrawn']);
    const then = await harness
      .http()
      .get('/fhir/DetectedIssue')
      .query({ _asOf: beforeCancel, kind: 'exact', _count: 1000 })
      .expect(200);
    const ids = (b: Json) =>
      (b.entry ?? [])
        .filter((e: Json) => e.resource.implicated.some((r: Json) => refId(r.reference) === claimId))
        .map((e: Json) => e.resource.status);
    expect(ids(then.body)).toEqual(['preliminary']);
    const now = await harness
      .http()
      .get('/fhir/DetectedIssue')
      .query({ kind: 'exact', _count: 1000 })
      .expect(200);
    expect(ids(now.body)).toEqual(['entered-in-error']);
  });

  it("answers a patient's claims with lines and adjudication, coverage on a date and the monthly summary, as of an instant", async () => {
    const patient = original.patients[0];
    const sourceA = ourId(A, 'Patient', patient.id);
    const theirs = original.claims.filter((c) => refId(c.patient.reference) === patient.id);
    const theirsB = generated.claims.filter((c) => refId(c.patient.reference) === patient.id);
    const now = (await harness.http().get(`/revenue-cycle/patients/${sourceA}/claims`).expect(200)).body;
    expect(now.sourcePatientIds.sort()).toEqual([sourceA, ourId(B, 'Patient', patient.id)].sort());
    expect(now.claims).toHaveLength(theirs.length + theirsB.length);
    const first = now.claims.find((c: Json) => c.claim.claim_id === ourId(A, 'Claim', theirs[0].id));
    expect(first.lines).toHaveLength(theirs[0].item.length);
    const eob = original.eobs.find((e) => refId(e.claim.reference) === theirs[0].id)!;
    expect(first.adjudication).toHaveLength(eob.item.length);
    expect(first.claim.total).toBe(theirs[0].total.value);
    const then = (
      await harness
        .http()
        .get(`/revenue-cycle/patients/${now.goldenPatientId}/claims`)
        .query({ _asOf: between })
        .expect(200)
    ).body;
    expect(then.claims).toHaveLength(theirs.length);
    const year = theirs[0].billablePeriod.start.slice(0, 4);
    const inYear = (c: Json) => c.billablePeriod.start.slice(0, 4) === year;
    const ranged = (
      await harness
        .http()
        .get(`/revenue-cycle/patients/${sourceA}/claims`)
        .query({ from: year, to: year, _asOf: between })
        .expect(200)
    ).body;
    expect(ranged.claims.length).toBe(theirs.filter(inYear).length);

    const date = theirs[0].billablePeriod.start.slice(0, 10);
    const coverage = (query: Record<string, string>) =>
      harness
        .http()
        .get('/revenue-cycle/coverage')
        .query({ patient: `Patient/${sourceA}`, date, ...query })
        .expect(200)
        .then((r) => r.body);
    expect((await coverage({ payer: 'Clearinghouse Health Plan' })).covered).toBe(true);
    expect((await coverage({ payer: 'Clearinghouse Health Plan', _asOf: between })).covered).toBe(false);
    const humana = await coverage({ _asOf: between });
    expect(humana.covered).toBe(true);
    expect(humana.periods.every((p: Json) => p.origin === 'ExplanationOfBenefit')).toBe(true);

    const summary = (
      await harness.http().get('/revenue-cycle/claims-summary').query({ _asOf: between }).expect(200)
    ).body.rows;
    const months = new Map<string, number>();
    for (const c of original.claims) {
      const m = new Date(c.billablePeriod.start).toISOString().slice(0, 7);
      months.set(m, (months.get(m) ?? 0) + 1);
    }
    expect(new Map(summary.map((r: Json) => [r.month, r.claims]))).toEqual(months);
    expect(summary.every((r: Json) => r.source === A)).toBe(true);
    const sources = new Set(
      (await harness.http().get('/revenue-cycle/claims-summary').expect(200)).body.rows.map(
        (r: Json) => r.source,
      ),
    );
    expect(sources).toEqual(new Set([A, B]));
  });

  it('rejects bad parameters with a 400 OperationOutcome naming them, and an unknown patient with 404', async () => {
    const outcome = async (url: string, query: Record<string, string>, status: number) =>
      (await harness.http().get(url).query(query).expect(status)).body;
    const patient = ourId(A, 'Patient', original.patients[0].id);
    expect(
      (await outcome(`/revenue-cycle/patients/${patient}/claims`, { from: 'yesterday' }, 400)).issue[0]
        .expression,
    ).toEqual(['from']);
    expect(
      (await outcome(`/revenue-cycle/patients/${patient}/claims`, { _asOf: '2020-13' }, 400)).issue[0]
        .expression,
    ).toEqual(['_asOf']);
    expect(
      (await outcome(`/revenue-cycle/patients/${patient}/claims`, { from: '2020', to: '2019' }, 400)).issue[0]
        .expression,
    ).toEqual(['from']);
    expect(
      (await outcome(`/revenue-cycle/patients/${patient}/claims`, { page: '2' }, 400)).issue[0].expression,
    ).toEqual(['page']);
    expect((await outcome('/revenue-cycle/coverage', {}, 400)).issue[0].expression).toEqual(['patient']);
    expect(
      (await outcome('/revenue-cycle/coverage', { patient: patient, date: 'monday' }, 400)).issue[0]
        .expression,
    ).toEqual(['date']);
    expect((await outcome('/revenue-cycle/claims-summary', { to: 'x' }, 400)).issue[0].expression).toEqual([
      'to',
    ]);
    expect((await outcome('/revenue-cycle/patients/no-such-patient/claims', {}, 404)).resourceType).toBe(
      'OperationOutcome',
    );
    expect(
      (await outcome('/revenue-cycle/coverage', { patient: 'Patient/no-such-patient' }, 404)).issue[0].code,
    ).toBe('not-found');
    expect(
      (await outcome(`/revenue-cycle/patients/${patient}/claims`, { _asOf: '2001-01-01' }, 404)).issue[0]
        .code,
    ).toBe('not-found');
  });

  it("findings follow the golden patient: a reviewer separating the second source's patient withdraws its cross-source findings", async () => {
    // The patient of the third exact duplicate: not one an earlier test reads.
    const exact = generated.truth.filter((t) => t.kind === 'exact')[2];
    const claim = generated.claims.find((c) => c.id === exact.claimId)!;
    const patientB = ourId(B, 'Patient', refId(claim.patient.reference));
    const claimId = ourId(B, 'Claim', claim.id);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const beforeUnlink = new Date().toISOString();
    const open = await sql(
      `SELECT finding_id, golden_patient_id FROM revenue_cycle.findings
        WHERE recorded_to IS NULL AND status = 'open' AND (claim_id = $1 OR duplicate_of = $1)`,
      [claimId],
    );
    expect(open).toHaveLength(1);
    await harness
      .http()
      .post('/fhir/$mdm-update-link')
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'goldenResourceId', valueString: `Patient/${open[0].golden_patient_id}` },
          { name: 'resourceId', valueString: `Patient/${patientB}` },
          { name: 'matchResult', valueString: 'NO_MATCH' },
        ],
      })
      .expect(200);
    await harness.runtime.runner.waitForCatchUp();
    // Every finding between this patient's claims and the first source's is withdrawn; none is left open.
    const after = await sql(
      `SELECT f.status FROM revenue_cycle.findings f
        WHERE f.recorded_to IS NULL AND $1 = ANY(f.source_patient_ids) AND cardinality(f.source_patient_ids) = 2`,
      [patientB],
    );
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after.map((r) => r.status))).toEqual(new Set(['withdrawn']));
    separated = { patientB, golden: open[0].golden_patient_id, beforeUnlink };
  });

  it("gives a claim's golden patient as a column, with plain SQL now and as of an instant before a link and a merge", async () => {
    const { patientB, golden, beforeUnlink } = separated!;
    const goldenNow = async () =>
      (
        await sql(
          `SELECT golden_id FROM patient_identity.links WHERE source_patient_id = $1 AND recorded_to IS NULL`,
          [patientB],
        )
      )[0].golden_id as string;
    const own = await goldenNow();
    expect(own).not.toBe(golden);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const beforeMerge = new Date().toISOString();
    await harness
      .http()
      .post('/fhir/$mdm-merge-golden-resources')
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'fromGoldenResourceId', valueString: `Patient/${own}` },
          { name: 'toGoldenResourceId', valueString: `Patient/${golden}` },
        ],
      })
      .expect(200);
    await harness.runtime.runner.waitForCatchUp();
    expect(await goldenNow()).toBe(golden);
    const claimsOfB = generated.claims.filter(
      (c) => ourId(B, 'Patient', refId(c.patient.reference)) === patientB,
    );
    // The as-of function and the ranged history give the same golden patient, once per claim, at each instant.
    const asOf = (at: string | null) =>
      sql(
        `SELECT claim_id, golden_patient_id FROM analytics.claim($1) WHERE patient_id = $2 ORDER BY claim_id`,
        [at, patientB],
      );
    const history = (at: string | null) =>
      sql(
        `SELECT claim_id, golden_patient_id FROM analytics.claim_history()
          WHERE patient_id = $2
            AND CASE WHEN $1::timestamptz IS NULL THEN recorded_to IS NULL
                     ELSE recorded_from <= $1 AND (recorded_to IS NULL OR recorded_to > $1) END
          ORDER BY claim_id`,
        [at, patientB],
      );
    for (const [at, want] of [
      [null, golden],
      [beforeMerge, own],
      [beforeUnlink, golden],
    ] as const) {
      const rows = await asOf(at);
      expect(rows).toHaveLength(claimsOfB.length);
      expect(new Set(rows.map((r) => r.golden_patient_id))).toEqual(new Set([want]));
      expect(await history(at)).toEqual(rows);
    }
    // Every claim's golden patient, now and as of the first ingest, against the links joined independently.
    for (const at of [null, between]) {
      const mismatched = await sql(
        `SELECT c.claim_id FROM analytics.claim($1) c
           LEFT JOIN patient_identity.links l ON l.source_patient_id = c.patient_id
            AND CASE WHEN $1::timestamptz IS NULL THEN l.recorded_to IS NULL
                     ELSE l.recorded_from <= $1 AND (l.recorded_to IS NULL OR l.recorded_to > $1) END
          WHERE c.golden_patient_id IS DISTINCT FROM l.golden_id`,
        [at],
      );
      expect(mismatched).toEqual([]);
      const [{ n }] = await sql(
        `SELECT count(*)::int AS n FROM analytics.claim_history()
          WHERE CASE WHEN $1::timestamptz IS NULL THEN recorded_to IS NULL
                     ELSE recorded_from <= $1 AND (recorded_to IS NULL OR recorded_to > $1) END`,
        [at],
      );
      expect(n).toBe(at === null ? original.claims.length + generated.claims.length : original.claims.length);
    }
  });

  it("DetectedIssue search answers the findings and the DetectedIssues sources sent in one paged answer; kind selects findings, a store parameter the sources' ones", async () => {
    const exact = generated.truth.find((t) => t.kind === 'exact')!;
    const seed = original.claims.find((c) => c.id === exact.of!.claimId)!;
    const sourceA = ourId(A, 'Patient', refId(seed.patient.reference));
    const sent = ['ddi-1', 'ddi-2'].map((id, i) => ({
      resourceType: 'DetectedIssue',
      id,
      status: 'final',
      patient: { reference: seed.patient.reference },
      identifiedDateTime: `202${i}-03-01`,
    }));
    const file = path.join(dir, 'DetectedIssue.ndjson');
    await fs.writeFile(file, sent.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const beforeSent = new Date().toISOString();
    await harness.ingest(A, [file]);
    await harness.runtime.runner.waitForCatchUp();
    const sentIds = sent.map((r) => ourId(A, 'DetectedIssue', r.id));
    const get = (query: Record<string, string>, status = 200) =>
      harness
        .http()
        .get('/fhir/DetectedIssue')
        .query(query)
        .expect(status)
        .then((r) => r.body);
    const findingIds = new Set<string>();
    for (const kind of ['exact', 'suspect'])
      for (const e of (await get({ patient: `Patient/${sourceA}`, kind, _count: '1000' })).entry ?? [])
        findingIds.add(e.resource.id);
    expect(findingIds.size).toBeGreaterThan(0);
    // Page through both with pages that straddle the findings and the sources' DetectedIssues.
    const seen: string[] = [];
    let page = await get({ patient: `Patient/${sourceA}`, _count: '3' });
    const total = page.total;
    for (;;) {
      seen.push(...(page.entry ?? []).map((e: Json) => e.resource.id));
      const next = page.link.find((l: Json) => l.relation === 'next');
      if (!next) break;
      page = (
        await harness
          .http()
          .get(new URL(next.url).pathname.replace(/^.*?\/fhir/, '/fhir') + new URL(next.url).search)
          .expect(200)
      ).body;
      expect(page.total).toBe(total);
    }
    expect(total).toBe(findingIds.size + 2);
    expect(seen).toHaveLength(total);
    expect(new Set(seen)).toEqual(new Set([...findingIds, ...sentIds]));
    expect(seen.slice(-2).sort()).toEqual([...sentIds].sort());
    expect((await get({ patient: `Patient/${sourceA}`, _summary: 'count' })).total).toBe(total);
    // As of before they were sent: the findings only.
    expect((await get({ patient: `Patient/${sourceA}`, _asOf: beforeSent, _summary: 'count' })).total).toBe(
      findingIds.size,
    );
    // date is the finding's day of service and the sent one's identified date.
    const in2021 = await get({ patient: `Patient/${sourceA}`, date: '2021', _count: '1000' });
    expect(in2021.entry.map((e: Json) => e.resource.id)).toContain(sentIds[1]);
    expect(in2021.entry.map((e: Json) => e.resource.id)).not.toContain(sentIds[0]);
    // A parameter only the sources' DetectedIssues have: the FHIR store's search answers.
    const byId = await get({ _id: sentIds[0] });
    expect(byId.entry.map((e: Json) => e.resource.id)).toEqual([sentIds[0]]);
    expect((await get({ kind: 'exact', _id: sentIds[0] }, 400)).issue[0].expression).toEqual(['_id']);
    const metadata = (await harness.http().get('/fhir/metadata').expect(200)).body;
    const entry = metadata.rest[0].resource.find((r: Json) => r.type === 'DetectedIssue');
    expect(entry.searchParam.map((p: Json) => p.name)).toEqual(
      expect.arrayContaining([
        'patient',
        'date',
        'kind',
        'status',
        'code',
        'identified',
        'implicated',
        '_asOf',
      ]),
    );
  });
});
