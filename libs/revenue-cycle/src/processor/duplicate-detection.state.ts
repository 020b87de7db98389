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

/** Reads and writes of the detector's state inside the runner's transaction (each sees the ones before). */
export class DetectionStateStore {
  constructor(
    private readonly client: PoolClient,
    private readonly schema: string,
  ) {}

  async putClaim(claimId: string, sourcePatientId: string, fingerprint: ClaimFingerprint | undefined) {
    await this.client.query(
      `INSERT INTO ${this.schema}.claims (claim_id, source_patient_id, fingerprint) VALUES ($1, $2, $3)
       ON CONFLICT (claim_id) DO UPDATE SET source_patient_id = $2, fingerprint = $3`,
      [claimId, sourcePatientId, fingerprint ? JSON.stringify(fingerprint) : null],
    );
  }

  async claim(
    claimId: string,
  ): Promise<{ sourcePatientId: string; fingerprint?: ClaimFingerprint } | undefined> {
    const { rows } = await this.client.query<{
      source_patient_id: string;
      fingerprint: ClaimFingerprint | null;
    }>(`SELECT source_patient_id, fingerprint FROM ${this.schema}.claims WHERE claim_id = $1`, [claimId]);
    return (
      rows[0] && { sourcePatientId: rows[0].source_patient_id, fingerprint: rows[0].fingerprint ?? undefined }
    );
  }

  async forgetClaim(claimId: string) {
    await this.client.query(`DELETE FROM ${this.schema}.claims WHERE claim_id = $1`, [claimId]);
  }

  async claimsOfPatient(sourcePatientId: string): Promise<string[]> {
    const { rows } = await this.client.query<{ claim_id: string }>(
      `SELECT claim_id FROM ${this.schema}.claims WHERE source_patient_id = $1 ORDER BY claim_id`,
      [sourcePatientId],
    );
    return rows.map((r) => r.claim_id);
  }

  async goldenOf(sourcePatientId: string): Promise<string | undefined> {
    const { rows } = await this.client.query<{ golden_id: string }>(
      `SELECT golden_id FROM ${this.schema}.patient_goldens WHERE source_patient_id = $1`,
      [sourcePatientId],
    );
    return rows[0]?.golden_id;
  }

  /** Sets (or, with undefined, removes) a source patient's golden patient; true when it changed. */
  async setGolden(sourcePatientId: string, goldenId: string | undefined): Promise<boolean> {
    const before = await this.goldenOf(sourcePatientId);
    if (before === goldenId) return false;
    if (goldenId === undefined) {
      await this.client.query(`DELETE FROM ${this.schema}.patient_goldens WHERE source_patient_id = $1`, [
        sourcePatientId,
      ]);
    } else {
      await this.client.query(
        `INSERT INTO ${this.schema}.patient_goldens (source_patient_id, golden_id) VALUES ($1, $2)
         ON CONFLICT (source_patient_id) DO UPDATE SET golden_id = $2`,
        [sourcePatientId, goldenId],
      );
    }
    return true;
  }

  /** Current fingerprints of the golden patient's claims other than `claimId`. */
  async candidates(goldenId: string, claimId: string): Promise<ClaimFingerprint[]> {
    const { rows } = await this.client.query<{ fingerprint: ClaimFingerprint }>(
      `SELECT c.fingerprint FROM ${this.schema}.claims c
         JOIN ${this.schema}.patient_goldens g ON g.source_patient_id = c.source_patient_id
        WHERE g.golden_id = $1 AND c.claim_id <> $2 AND c.fingerprint IS NOT NULL
        ORDER BY c.claim_id`,
      [goldenId, claimId],
    );
    return rows.map((r) => r.fingerprint);
  }

  async findingsOf(claimId: string): Promise<Map<string, FindingState>> {
    const { rows } = await this.client.query<FindingRow>(
      `SELECT * FROM ${this.schema}.findings WHERE claim_id = $1 OR duplicate_of = $1`,
      [claimId],
    );
    return new Map(rows.map((r) => [r.finding_id, findingOf(r)]));
  }

  async finding(findingId: string): Promise<FindingState | undefined> {
    const { rows } = await this.client.query<FindingRow>(
      `SELECT * FROM ${this.schema}.findings WHERE finding_id = $1`,
      [findingId],
    );
    return rows[0] && findingOf(rows[0]);
  }

  async putFinding(f: FindingState) {
    await this.client.query(
      `INSERT INTO ${this.schema}.findings (finding_id, claim_id, duplicate_of, kind, rule, status)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (finding_id) DO UPDATE SET claim_id = $2, duplicate_of = $3, kind = $4, rule = $5, status = $6`,
      [f.findingId, f.claim, f.duplicateOf, f.kind, f.rule, f.status],
    );
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
