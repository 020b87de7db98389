import type { PoolClient } from 'pg';
import type { ClaimFingerprint } from '../domain/claim-fingerprint';
import type { FindingState } from '../domain/duplicate-decider';

/**
 * The detector's own state in PostgreSQL (a process manager's, never rebuilt): each claim's current fingerprint,
 * each source patient's golden patient as Patient Identity's events decided it, and every finding's status.
 */
export const DETECTION_STATE_TABLES = ['claims', 'patient_goldens', 'findings'] as const;

export const DETECTION_STATE_SQL = (schema: string) => `
CREATE TABLE ${schema}.claims (
  claim_id text PRIMARY KEY,
  source_patient_id text NOT NULL,
  fingerprint jsonb
);
CREATE INDEX claims_patient ON ${schema}.claims (source_patient_id);
CREATE TABLE ${schema}.patient_goldens (
  source_patient_id text PRIMARY KEY,
  golden_id text NOT NULL
);
CREATE INDEX patient_goldens_golden ON ${schema}.patient_goldens (golden_id);
CREATE TABLE ${schema}.findings (
  finding_id text PRIMARY KEY,
  claim_id text NOT NULL,
  duplicate_of text NOT NULL,
  kind text NOT NULL,
  rule text NOT NULL,
  status text NOT NULL
);
CREATE INDEX findings_claim ON ${schema}.findings (claim_id);
CREATE INDEX findings_duplicate_of ON ${schema}.findings (duplicate_of);
`;

interface ClaimRecord {
  sourcePatientId: string;
  fingerprint?: ClaimFingerprint;
}

/**
 * The part of the detector's state one batch touches, loaded in a few queries (the batch's claims, the golden
 * patients of their patients and of the batch's link events, every claim of those golden patients and every
 * finding those claims are in) and written back in a few: round trips, not rules, are what a batch costs.
 */
export class DetectionBatchState {
  private readonly claims = new Map<string, ClaimRecord>();
  private readonly claimsByPatient = new Map<string, Set<string>>();
  private readonly goldens = new Map<string, string | undefined>();
  private readonly membersByGolden = new Map<string, Set<string>>();
  private readonly findings = new Map<string, FindingState>();
  private readonly findingsByClaim = new Map<string, Set<string>>();
  private readonly dirtyClaims = new Set<string>();
  private readonly dirtyGoldens = new Set<string>();
  private readonly dirtyFindings = new Set<string>();

  constructor(
    private readonly client: PoolClient,
    private readonly schema: string,
  ) {}

  async load(input: {
    claimIds: string[];
    sourcePatientIds: string[];
    goldenIds: string[];
    findingIds: string[];
  }): Promise<void> {
    const s = this.schema;
    const own = await this.client.query<{ claim_id: string; source_patient_id: string }>(
      `SELECT claim_id, source_patient_id FROM ${s}.claims WHERE claim_id = ANY($1::text[])`,
      [input.claimIds],
    );
    const patients = [...new Set([...input.sourcePatientIds, ...own.rows.map((r) => r.source_patient_id)])];
    const mapped = await this.client.query<{ source_patient_id: string; golden_id: string }>(
      `SELECT source_patient_id, golden_id FROM ${s}.patient_goldens
        WHERE source_patient_id = ANY($1::text[])
           OR golden_id = ANY($2::text[])
           OR golden_id IN (SELECT golden_id FROM ${s}.patient_goldens WHERE source_patient_id = ANY($1::text[]))`,
      [patients, input.goldenIds],
    );
    for (const p of patients) this.goldens.set(p, undefined);
    for (const r of mapped.rows) this.mapGolden(r.source_patient_id, r.golden_id);
    const claims = await this.client.query<{
      claim_id: string;
      source_patient_id: string;
      fingerprint: ClaimFingerprint | null;
    }>(
      `SELECT claim_id, source_patient_id, fingerprint FROM ${s}.claims
        WHERE source_patient_id = ANY($1::text[]) OR claim_id = ANY($2::text[])`,
      [[...this.goldens.keys()], input.claimIds],
    );
    for (const r of claims.rows) this.indexClaim(r.claim_id, r.source_patient_id, r.fingerprint ?? undefined);
    const findings = await this.client.query<FindingRow>(
      `SELECT * FROM ${s}.findings
        WHERE claim_id = ANY($1::text[]) OR duplicate_of = ANY($1::text[]) OR finding_id = ANY($2::text[])`,
      [[...this.claims.keys()], input.findingIds],
    );
    for (const r of findings.rows) this.indexFinding(findingOf(r));
  }

  claim(claimId: string): ClaimRecord | undefined {
    return this.claims.get(claimId);
  }

  putClaim(claimId: string, sourcePatientId: string, fingerprint: ClaimFingerprint | undefined): void {
    const before = this.claims.get(claimId);
    if (before && before.sourcePatientId !== sourcePatientId) {
      this.claimsByPatient.get(before.sourcePatientId)?.delete(claimId);
    }
    this.indexClaim(claimId, sourcePatientId, fingerprint);
    this.dirtyClaims.add(claimId);
  }

  forgetClaim(claimId: string): void {
    const before = this.claims.get(claimId);
    if (!before) return;
    this.claimsByPatient.get(before.sourcePatientId)?.delete(claimId);
    this.claims.delete(claimId);
    this.dirtyClaims.add(claimId);
  }

  claimsOfPatient(sourcePatientId: string): string[] {
    return [...(this.claimsByPatient.get(sourcePatientId) ?? [])].sort();
  }

  goldenOf(sourcePatientId: string): string | undefined {
    return this.goldens.get(sourcePatientId);
  }

  /** Sets (or, with undefined, removes) a source patient's golden patient; true when it changed. */
  setGolden(sourcePatientId: string, goldenId: string | undefined): boolean {
    const before = this.goldens.get(sourcePatientId);
    if (before === goldenId) return false;
    if (before) this.membersByGolden.get(before)?.delete(sourcePatientId);
    this.mapGolden(sourcePatientId, goldenId);
    this.dirtyGoldens.add(sourcePatientId);
    return true;
  }

  /**
   * Current fingerprints of the golden patient's other claims a rule could pair with `claim`: every rule needs
   * overlapping service days; adjustments (either way) come along so the decider sees the chain.
   */
  candidates(goldenId: string, claim: ClaimFingerprint): ClaimFingerprint[] {
    const out: ClaimFingerprint[] = [];
    for (const patient of this.membersByGolden.get(goldenId) ?? []) {
      for (const id of this.claimsByPatient.get(patient) ?? []) {
        const other = this.claims.get(id)?.fingerprint;
        if (!other || id === claim.claimId) continue;
        const overlapping = other.from <= claim.through && claim.from <= other.through;
        if (overlapping || claim.replaces.includes(id) || other.replaces.includes(claim.claimId))
          out.push(other);
      }
    }
    return out.sort((a, b) => a.claimId.localeCompare(b.claimId));
  }

  findingsOf(claimId: string): Map<string, FindingState> {
    const ids = this.findingsByClaim.get(claimId) ?? new Set<string>();
    return new Map([...ids].map((id) => [id, this.findings.get(id)!]));
  }

  finding(findingId: string): FindingState | undefined {
    return this.findings.get(findingId);
  }

  putFinding(finding: FindingState): void {
    this.indexFinding(finding);
    this.dirtyFindings.add(finding.findingId);
  }

  async save(): Promise<void> {
    const s = this.schema;
    const claims = [...this.dirtyClaims];
    const kept = claims.filter((id) => this.claims.has(id));
    const gone = claims.filter((id) => !this.claims.has(id));
    if (gone.length > 0) {
      await this.client.query(`DELETE FROM ${s}.claims WHERE claim_id = ANY($1::text[])`, [gone]);
    }
    if (kept.length > 0) {
      await this.client.query(
        `INSERT INTO ${s}.claims (claim_id, source_patient_id, fingerprint)
         SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])
         ON CONFLICT (claim_id) DO UPDATE SET source_patient_id = excluded.source_patient_id,
                                              fingerprint = excluded.fingerprint`,
        [
          kept,
          kept.map((id) => this.claims.get(id)!.sourcePatientId),
          kept.map((id) => {
            const fingerprint = this.claims.get(id)!.fingerprint;
            return fingerprint ? JSON.stringify(fingerprint) : null;
          }),
        ],
      );
    }
    const patients = [...this.dirtyGoldens];
    const linked = patients.filter((p) => this.goldens.get(p) !== undefined);
    const unlinked = patients.filter((p) => this.goldens.get(p) === undefined);
    if (unlinked.length > 0) {
      await this.client.query(`DELETE FROM ${s}.patient_goldens WHERE source_patient_id = ANY($1::text[])`, [
        unlinked,
      ]);
    }
    if (linked.length > 0) {
      await this.client.query(
        `INSERT INTO ${s}.patient_goldens (source_patient_id, golden_id) SELECT * FROM unnest($1::text[], $2::text[])
         ON CONFLICT (source_patient_id) DO UPDATE SET golden_id = excluded.golden_id`,
        [linked, linked.map((p) => this.goldens.get(p)!)],
      );
    }
    const findings = [...this.dirtyFindings].map((id) => this.findings.get(id)!);
    if (findings.length > 0) {
      await this.client.query(
        `INSERT INTO ${s}.findings (finding_id, claim_id, duplicate_of, kind, rule, status)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
         ON CONFLICT (finding_id) DO UPDATE SET claim_id = excluded.claim_id, duplicate_of = excluded.duplicate_of,
           kind = excluded.kind, rule = excluded.rule, status = excluded.status`,
        [
          findings.map((f) => f.findingId),
          findings.map((f) => f.claim),
          findings.map((f) => f.duplicateOf),
          findings.map((f) => f.kind),
          findings.map((f) => f.rule),
          findings.map((f) => f.status),
        ],
      );
    }
  }

  private mapGolden(sourcePatientId: string, goldenId: string | undefined): void {
    this.goldens.set(sourcePatientId, goldenId);
    if (goldenId === undefined) return;
    if (!this.membersByGolden.has(goldenId)) this.membersByGolden.set(goldenId, new Set());
    this.membersByGolden.get(goldenId)!.add(sourcePatientId);
  }

  private indexClaim(
    claimId: string,
    sourcePatientId: string,
    fingerprint: ClaimFingerprint | undefined,
  ): void {
    this.claims.set(claimId, { sourcePatientId, fingerprint });
    if (!this.claimsByPatient.has(sourcePatientId)) this.claimsByPatient.set(sourcePatientId, new Set());
    this.claimsByPatient.get(sourcePatientId)!.add(claimId);
  }

  private indexFinding(finding: FindingState): void {
    this.findings.set(finding.findingId, finding);
    for (const claimId of [finding.claim, finding.duplicateOf]) {
      if (!this.findingsByClaim.has(claimId)) this.findingsByClaim.set(claimId, new Set());
      this.findingsByClaim.get(claimId)!.add(finding.findingId);
    }
  }
}

interface FindingRow {
  finding_id: string;
  claim_id: string;
  duplicate_of: string;
  kind: FindingState['kind'];
  rule: FindingState['rule'];
  status: FindingState['status'];
}

function findingOf(r: FindingRow): FindingState {
  return {
    findingId: r.finding_id,
    claim: r.claim_id,
    duplicateOf: r.duplicate_of,
    kind: r.kind,
    rule: r.rule,
    status: r.status,
  };
}
