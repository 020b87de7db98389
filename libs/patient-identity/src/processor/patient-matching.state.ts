import type { PoolClient } from 'pg';
import type { MatchCandidate } from '../domain/candidate-scoring';
import { DISCRIMINATING_FIELDS, MatchingState } from '../domain/identity-decider';
import type { IdentityMatcher } from '../domain/identity-matcher';
import type { IdentityEvent } from '../domain/identity-events';
import { evolveSourcePatient, initialSourcePatient, SourcePatientState } from '../domain/identity-state';

/**
 * The matching processor's own state in PostgreSQL: every source patient with its golden patient, whether a
 * reviewer placed it, its features and blocking keys (so candidates are compared without re-reading
 * resources), the blocking index, and the golden patients reviewers said a source patient is not.
 */
export const MATCHING_STATE_TABLES = ['source_patients', 'blocking', 'not_matching'] as const;

/**
 * The state of a matcher set up before `provisional` existed gains it on its first batch (a process manager is
 * never rebuilt, so its tables change in place; catalog-only, links made before count as confirmed).
 */
export const MATCHING_STATE_UPGRADE_SQL = (schema: string) =>
  `ALTER TABLE ${schema}.source_patients ADD COLUMN IF NOT EXISTS provisional boolean NOT NULL DEFAULT false`;

export const MATCHING_STATE_SQL = (schema: string) => `
CREATE TABLE ${schema}.source_patients (
  source_patient_id text PRIMARY KEY,
  source text NOT NULL,
  golden_id text,
  manual boolean NOT NULL DEFAULT false,
  provisional boolean NOT NULL DEFAULT false,
  features jsonb NOT NULL,
  blocking_keys text[] NOT NULL
);
CREATE INDEX source_patients_golden ON ${schema}.source_patients (golden_id);
CREATE TABLE ${schema}.blocking (
  key text NOT NULL,
  source_patient_id text NOT NULL,
  PRIMARY KEY (key, source_patient_id)
);
CREATE TABLE ${schema}.not_matching (
  source_patient_id text NOT NULL,
  golden_id text NOT NULL,
  PRIMARY KEY (source_patient_id, golden_id)
);
`;

interface Row {
  /** The identity facts (notMatching lives in `notMatchingPairs`, which also holds pairs of unknown patients). */
  state: SourcePatientState;
  features: unknown;
  blockingKeys: string[];
  /** Golden, manual or features changed: the row is written back. */
  dirty: boolean;
  /** Blocking keys changed: the row's blocking entries are rewritten. */
  keysChanged: boolean;
}

/**
 * The part of the matcher's state one batch touches, loaded in two queries and written back in a few: the
 * batch's source patients and every source patient sharing a blocking key with an arriving version. Identity
 * events change it through the domain's evolve.
 */
export class MatchingBatchState implements MatchingState {
  private readonly rows = new Map<string, Row>();
  private readonly byKey = new Map<string, Set<string>>();
  private readonly notMatchingPairs = new Map<string, Set<string>>();
  private readonly newNotMatching: [string, string][] = [];
  private readonly forgotten = new Set<string>();

  constructor(
    private readonly client: PoolClient,
    private readonly schema: string,
    private readonly matcher: Pick<IdentityMatcher, 'conflicts'>,
  ) {}

  /** Loads the named source patients and every source patient holding one of `keys`. */
  async load(sourcePatientIds: string[], keys: string[]): Promise<void> {
    await this.loadRows(
      `p.source_patient_id = ANY($1::text[])
        OR p.source_patient_id IN (SELECT b.source_patient_id FROM ${this.schema}.blocking b WHERE b.key = ANY($2::text[]))`,
      [sourcePatientIds, [...new Set(keys)]],
    );
  }

  /** Loads every member of these golden patients the batch has not seen (what membersOf must answer in full). */
  async loadMembersOf(goldenIds: string[]): Promise<void> {
    await this.loadRows(`p.golden_id = ANY($1::text[]) AND NOT (p.source_patient_id = ANY($2::text[]))`, [
      goldenIds,
      [...this.rows.keys()],
    ]);
  }

  sourcePatient(sourcePatientId: string): SourcePatientState | undefined {
    const row = this.rows.get(sourcePatientId);
    return row ? this.withRules(row.state) : undefined;
  }

  membersOf(goldenId: string): SourcePatientState[] {
    return [...this.rows.values()]
      .filter((row) => row.state.goldenId === goldenId)
      .map((row) => this.withRules(row.state));
  }

  conflictsBetween(sourcePatientId: string, otherSourcePatientId: string): string[] {
    const [a, b] = [this.rows.get(sourcePatientId), this.rows.get(otherSourcePatientId)];
    return a && b ? this.matcher.conflicts(a.features, b.features, DISCRIMINATING_FIELDS) : [];
  }

  /** Placed source patients sharing a blocking key with this one. */
  candidatesOf(sourcePatientId: string): MatchCandidate[] {
    const row = this.rows.get(sourcePatientId);
    if (!row) return [];
    const ids = new Set<string>();
    for (const key of row.blockingKeys) for (const id of this.byKey.get(key) ?? []) ids.add(id);
    ids.delete(sourcePatientId);
    const candidates: MatchCandidate[] = [];
    for (const id of ids) {
      const { state, features, blockingKeys } = this.rows.get(id)!;
      if (state.goldenId) {
        const { goldenId, provisional } = state;
        candidates.push({
          sourcePatientId: id,
          goldenId,
          features,
          provisional: Boolean(provisional),
          blockingKeys,
        });
      }
    }
    return candidates;
  }

  /** A new version's features and keys; where it belongs is left to the decisions. */
  upsert(sourcePatientId: string, source: string, features: unknown, blockingKeys: string[]): void {
    const existing = this.rows.get(sourcePatientId);
    if (existing) {
      for (const key of existing.blockingKeys) this.byKey.get(key)?.delete(sourcePatientId);
    }
    this.remember({
      state: existing ? { ...existing.state, source } : initialSourcePatient(sourcePatientId, source),
      features,
      blockingKeys,
      dirty: true,
      keysChanged: !existing || existing.blockingKeys.join('\n') !== blockingKeys.join('\n'),
    });
    this.forgotten.delete(sourcePatientId);
  }

  /** Folds an identity event into the state of the source patient it concerns. */
  apply(event: IdentityEvent): void {
    if (!('sourcePatientId' in event.data)) return;
    const { sourcePatientId } = event.data;
    const row = this.rows.get(sourcePatientId);
    const before = this.withRules(row?.state ?? initialSourcePatient(sourcePatientId, ''));
    const after = evolveSourcePatient(before, event);
    for (const goldenId of after.notMatching) {
      if (before.notMatching.has(goldenId)) continue;
      this.addNotMatching(sourcePatientId, goldenId);
      this.newNotMatching.push([sourcePatientId, goldenId]);
    }
    const changed =
      after.goldenId !== row?.state.goldenId ||
      after.manual !== row?.state.manual ||
      Boolean(after.provisional) !== Boolean(row?.state.provisional);
    if (row && changed) {
      const { goldenId, manual, provisional } = after;
      row.state = { ...row.state, goldenId, manual, provisional: Boolean(provisional) };
      row.dirty = true;
    }
  }

  /** A source patient deleted at its source: no longer a candidate, its rows go. */
  forget(sourcePatientId: string): void {
    const row = this.rows.get(sourcePatientId);
    if (!row) return;
    for (const key of row.blockingKeys) this.byKey.get(key)?.delete(sourcePatientId);
    this.rows.delete(sourcePatientId);
    this.forgotten.add(sourcePatientId);
  }

  async save(): Promise<void> {
    const dirty = [...this.rows.values()].filter((row) => row.dirty);
    if (dirty.length > 0) {
      await this.client.query(
        `INSERT INTO ${this.schema}.source_patients (source_patient_id, source, golden_id, manual, provisional, features, blocking_keys)
         SELECT r.i, r.s, r.g, r.m, r.p, r.f, ARRAY(SELECT json_array_elements_text(r.k))
           FROM json_to_recordset($1::json) AS r(i text, s text, g text, m boolean, p boolean, f jsonb, k json)
         ON CONFLICT (source_patient_id) DO UPDATE SET source = EXCLUDED.source, golden_id = EXCLUDED.golden_id,
           manual = EXCLUDED.manual, provisional = EXCLUDED.provisional, features = EXCLUDED.features,
           blocking_keys = EXCLUDED.blocking_keys`,
        [
          JSON.stringify(
            dirty.map((row) => ({
              i: row.state.sourcePatientId,
              s: row.state.source,
              g: row.state.goldenId,
              m: row.state.manual,
              p: Boolean(row.state.provisional),
              f: row.features,
              k: row.blockingKeys,
            })),
          ),
        ],
      );
    }
    const rekeyed = [...this.rows.values()].filter((row) => row.keysChanged);
    if (rekeyed.length > 0) {
      await this.client.query(
        `DELETE FROM ${this.schema}.blocking WHERE source_patient_id = ANY($1::text[])`,
        [rekeyed.map((row) => row.state.sourcePatientId)],
      );
      await this.client.query(
        `INSERT INTO ${this.schema}.blocking (key, source_patient_id)
         SELECT DISTINCT r.k, r.i FROM json_to_recordset($1::json) AS r(k text, i text)`,
        [
          JSON.stringify(
            rekeyed.flatMap((row) => row.blockingKeys.map((k) => ({ k, i: row.state.sourcePatientId }))),
          ),
        ],
      );
    }
    if (this.forgotten.size > 0) {
      const ids = [...this.forgotten];
      await this.client.query(
        `DELETE FROM ${this.schema}.blocking WHERE source_patient_id = ANY($1::text[])`,
        [ids],
      );
      await this.client.query(
        `DELETE FROM ${this.schema}.source_patients WHERE source_patient_id = ANY($1::text[])`,
        [ids],
      );
    }
    if (this.newNotMatching.length > 0) {
      await this.client.query(
        `INSERT INTO ${this.schema}.not_matching (source_patient_id, golden_id)
         SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
        [this.newNotMatching.map((p) => p[0]), this.newNotMatching.map((p) => p[1])],
      );
    }
  }

  /** Source patients matching `where` (over alias p), with the not-matching rules that bind them. */
  private async loadRows(where: string, params: unknown[]): Promise<void> {
    const rows = await this.client.query<{
      source_patient_id: string;
      source: string;
      golden_id: string | null;
      manual: boolean;
      provisional: boolean;
      features: unknown;
      blocking_keys: string[];
    }>(
      `SELECT p.source_patient_id, p.source, p.golden_id, p.manual, p.provisional, p.features, p.blocking_keys
         FROM ${this.schema}.source_patients p WHERE ${where}`,
      params,
    );
    for (const row of rows.rows) {
      this.remember({
        state: {
          sourcePatientId: row.source_patient_id,
          source: row.source,
          goldenId: row.golden_id,
          manual: row.manual,
          provisional: row.provisional,
          notMatching: new Set(),
        },
        features: row.features,
        blockingKeys: row.blocking_keys,
        dirty: false,
        keysChanged: false,
      });
    }
    const loaded = rows.rows.map((r) => r.source_patient_id);
    if (loaded.length === 0) return;
    const rules = await this.client.query<{ source_patient_id: string; golden_id: string }>(
      `SELECT source_patient_id, golden_id FROM ${this.schema}.not_matching WHERE source_patient_id = ANY($1::text[])`,
      [loaded],
    );
    for (const row of rules.rows) this.addNotMatching(row.source_patient_id, row.golden_id);
  }

  private withRules(state: SourcePatientState): SourcePatientState {
    return { ...state, notMatching: this.notMatchingPairs.get(state.sourcePatientId) ?? new Set() };
  }

  private remember(row: Row): void {
    this.rows.set(row.state.sourcePatientId, row);
    for (const key of row.blockingKeys) {
      let set = this.byKey.get(key);
      if (!set) this.byKey.set(key, (set = new Set()));
      set.add(row.state.sourcePatientId);
    }
  }

  private addNotMatching(sourcePatientId: string, goldenId: string): void {
    let set = this.notMatchingPairs.get(sourcePatientId);
    if (!set) this.notMatchingPairs.set(sourcePatientId, (set = new Set()));
    set.add(goldenId);
  }
}
