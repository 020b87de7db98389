import type { PoolClient } from 'pg';
import type { FactFeatures } from '../domain/clinical-fact';
import type { ClinicalMatchingState, CurrentLink, StoredFact } from '../domain/fact-matching-decider';
import { learnEquivalences } from '../domain/fact-rules';
import { CLINICAL_FACTS_LINKED, ClinicalEvent, FactRef, refKey } from '../events/clinical-events';

export const FACT_MATCHING_TABLES = ['facts', 'memberships', 'links', 'splits', 'concepts'] as const;

/** The matcher's own state (not a read model): the facts it compares, golden membership, current links. */
export const FACT_MATCHING_SQL = (schema: string) => `
CREATE TABLE ${schema}.facts (
  key text PRIMARY KEY,
  patient_id text NOT NULL,
  source text NOT NULL,
  features jsonb NOT NULL,
  deleted boolean NOT NULL DEFAULT false
);
CREATE INDEX facts_by_patient ON ${schema}.facts (patient_id);
CREATE TABLE ${schema}.memberships (patient_id text PRIMARY KEY, golden_id text NOT NULL);
CREATE INDEX memberships_by_golden ON ${schema}.memberships (golden_id);
CREATE TABLE ${schema}.links (link_id text PRIMARY KEY, a_key text NOT NULL, b_key text NOT NULL, facts jsonb NOT NULL);
CREATE INDEX links_by_a ON ${schema}.links (a_key);
CREATE INDEX links_by_b ON ${schema}.links (b_key);
CREATE TABLE ${schema}.splits (a_key text NOT NULL, b_key text NOT NULL, PRIMARY KEY (a_key, b_key));
CREATE TABLE ${schema}.concepts (code text NOT NULL, other text NOT NULL, PRIMARY KEY (code, other));
`;

const pairKey = (a: string, b: string) => (a < b ? `${a} ${b}` : `${b} ${a}`);

/**
 * One batch's slice of the state, loaded once (the patients the batch concerns, their golden patients' other
 * members, their facts and links), changed in memory as the batch is decided, and saved at its end.
 */
export class FactMatchingBatchState implements ClinicalMatchingState {
  readonly concepts = new Map<string, Set<string>>();
  private readonly facts = new Map<string, StoredFact>();
  private readonly byPatient = new Map<string, Map<string, StoredFact>>();
  private readonly membership = new Map<string, string | undefined>();
  private readonly members = new Map<string, Set<string>>();
  private readonly links = new Map<string, CurrentLink>();
  private readonly linksByKey = new Map<string, Set<string>>();
  private readonly splits = new Set<string>();
  private readonly loadedPatients = new Set<string>();
  private readonly dirtyFacts = new Set<string>();
  private readonly dirtyMembership = new Set<string>();
  private readonly addedLinks = new Set<string>();
  private readonly removedLinks = new Set<string>();
  private readonly newSplits: [string, string][] = [];
  private readonly newConcepts: string[][] = [];

  constructor(
    private readonly client: PoolClient,
    private readonly schema: string,
  ) {}

  /** Loads the concepts, and everything about these patients, their golden patients and those goldens' members. */
  async load(
    patientIds: Iterable<string>,
    goldenIds: Iterable<string>,
    keys: Iterable<string>,
  ): Promise<void> {
    const s = this.schema;
    const { rows: concepts } = await this.client.query<{ code: string; other: string }>(
      `SELECT code, other FROM ${s}.concepts`,
    );
    for (const { code, other } of concepts) {
      let set = this.concepts.get(code);
      if (!set) this.concepts.set(code, (set = new Set()));
      set.add(other);
    }
    const { rows: owners } = await this.client.query<{ patient_id: string }>(
      `SELECT patient_id FROM ${s}.facts WHERE key = ANY($1)`,
      [[...keys]],
    );
    await this.loadPatients([...patientIds, ...owners.map((r) => r.patient_id)], [...goldenIds]);
  }

  private async loadPatients(patientIds: string[], goldenIds: string[]): Promise<void> {
    const s = this.schema;
    const fresh = [...new Set(patientIds)].filter((id) => !this.loadedPatients.has(id));
    const { rows: memberships } = await this.client.query<{ patient_id: string; golden_id: string }>(
      `SELECT patient_id, golden_id FROM ${s}.memberships
        WHERE golden_id IN (SELECT golden_id FROM ${s}.memberships WHERE patient_id = ANY($1)) OR golden_id = ANY($2)`,
      [fresh, goldenIds],
    );
    const all = new Set(
      [...fresh, ...memberships.map((m) => m.patient_id)].filter((id) => !this.loadedPatients.has(id)),
    );
    for (const id of all) {
      this.loadedPatients.add(id);
      this.membership.set(id, undefined);
    }
    for (const m of memberships) {
      if (!all.has(m.patient_id)) continue;
      this.membership.set(m.patient_id, m.golden_id);
      this.memberSet(m.golden_id).add(m.patient_id);
    }
    const ids = [...all];
    const { rows: facts } = await this.client.query<{
      key: string;
      patient_id: string;
      source: string;
      features: string;
      deleted: boolean;
    }>(
      `SELECT key, patient_id, source, features::text AS features, deleted FROM ${s}.facts WHERE patient_id = ANY($1)`,
      [ids],
    );
    for (const row of facts) {
      const [resourceType, id] = row.key.split('/');
      this.put({
        ref: { resourceType, id, source: row.source, patientId: row.patient_id },
        features: JSON.parse(row.features) as FactFeatures,
        deleted: row.deleted,
      });
    }
    const keys = facts.map((f) => f.key);
    const { rows: links } = await this.client.query<{ link_id: string; facts: string }>(
      `SELECT link_id, facts::text AS facts FROM ${s}.links WHERE a_key = ANY($1) OR b_key = ANY($1)`,
      [keys],
    );
    for (const row of links)
      this.addLink({ linkId: row.link_id, facts: JSON.parse(row.facts) as [FactRef, FactRef] });
    const { rows: splits } = await this.client.query<{ a_key: string; b_key: string }>(
      `SELECT a_key, b_key FROM ${s}.splits WHERE a_key = ANY($1) OR b_key = ANY($1)`,
      [keys],
    );
    for (const row of splits) this.splits.add(pairKey(row.a_key, row.b_key));
  }

  /** Makes sure a golden patient's members are loaded before it is decided on (a patient may join a new one). */
  async ensureGolden(goldenId: string): Promise<void> {
    await this.loadPatients([], [goldenId]);
  }

  async ensurePatients(patientIds: string[]): Promise<void> {
    if (patientIds.some((id) => !this.loadedPatients.has(id))) await this.loadPatients(patientIds, []);
  }

  fact(key: string): StoredFact | undefined {
    return this.facts.get(key);
  }

  factsOfPatient(patientId: string): readonly StoredFact[] {
    return [...(this.byPatient.get(patientId)?.values() ?? [])];
  }

  goldenOf(patientId: string): string | undefined {
    return this.membership.get(patientId);
  }

  membersOf(goldenId: string): readonly string[] {
    return [...(this.members.get(goldenId) ?? [])];
  }

  linksOf(key: string): readonly CurrentLink[] {
    return [...(this.linksByKey.get(key) ?? [])].map((id) => this.links.get(id)!);
  }

  isSplit(a: string, b: string): boolean {
    return this.splits.has(pairKey(a, b));
  }

  /** Records a version's features (and the coding lists it teaches). */
  record(fact: StoredFact): void {
    const previous = this.facts.get(refKey(fact.ref));
    if (previous && previous.ref.patientId !== fact.ref.patientId)
      this.byPatient.get(previous.ref.patientId)?.delete(refKey(fact.ref));
    this.put(fact);
    this.dirtyFacts.add(refKey(fact.ref));
    this.newConcepts.push(...learnEquivalences(this.concepts, fact.features.codingLists));
  }

  forget(key: string): void {
    const fact = this.facts.get(key);
    if (!fact) return;
    this.put({ ...fact, deleted: true });
    this.dirtyFacts.add(key);
  }

  join(patientId: string, goldenId: string): void {
    this.leave(patientId);
    this.membership.set(patientId, goldenId);
    this.memberSet(goldenId).add(patientId);
    this.loadedPatients.add(patientId);
    this.dirtyMembership.add(patientId);
  }

  leave(patientId: string, goldenId?: string): void {
    const current = this.membership.get(patientId);
    if (current === undefined || (goldenId !== undefined && current !== goldenId)) return;
    this.members.get(current)?.delete(patientId);
    this.membership.set(patientId, undefined);
    this.dirtyMembership.add(patientId);
  }

  /** Folds a decision (the matcher's, or a reviewer's split). */
  evolve(event: ClinicalEvent): void {
    const { linkId, facts } = event.data;
    if (event.type === CLINICAL_FACTS_LINKED) {
      this.addLink({ linkId, facts });
      this.addedLinks.add(linkId);
      this.removedLinks.delete(linkId);
      return;
    }
    if (this.links.has(linkId)) {
      for (const ref of facts) this.linksByKey.get(refKey(ref))?.delete(linkId);
      this.links.delete(linkId);
      this.addedLinks.delete(linkId);
      this.removedLinks.add(linkId);
    }
    if (event.data.reason === 'reviewer-split') {
      const [a, b] = facts.map(refKey);
      if (!this.isSplit(a, b)) {
        this.splits.add(pairKey(a, b));
        this.newSplits.push([a, b]);
      }
    }
  }

  async save(): Promise<void> {
    const s = this.schema;
    const facts = [...this.dirtyFacts].map((key) => this.facts.get(key)!);
    if (facts.length > 0) {
      await this.client.query(
        `INSERT INTO ${s}.facts (key, patient_id, source, features, deleted)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::boolean[])
         ON CONFLICT (key) DO UPDATE SET patient_id = excluded.patient_id, source = excluded.source,
           features = excluded.features, deleted = excluded.deleted`,
        [
          facts.map((f) => refKey(f.ref)),
          facts.map((f) => f.ref.patientId),
          facts.map((f) => f.ref.source),
          facts.map((f) => JSON.stringify(f.features)),
          facts.map((f) => f.deleted),
        ],
      );
    }
    const moved = [...this.dirtyMembership];
    if (moved.length > 0) {
      await this.client.query(`DELETE FROM ${s}.memberships WHERE patient_id = ANY($1)`, [moved]);
      const joined = moved.filter((id) => this.membership.get(id) !== undefined);
      await this.client.query(
        `INSERT INTO ${s}.memberships (patient_id, golden_id) SELECT * FROM unnest($1::text[], $2::text[])`,
        [joined, joined.map((id) => this.membership.get(id)!)],
      );
    }
    if (this.removedLinks.size > 0)
      await this.client.query(`DELETE FROM ${s}.links WHERE link_id = ANY($1)`, [[...this.removedLinks]]);
    const added = [...this.addedLinks].map((id) => this.links.get(id)!);
    if (added.length > 0) {
      await this.client.query(
        `INSERT INTO ${s}.links (link_id, a_key, b_key, facts)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) ON CONFLICT (link_id) DO NOTHING`,
        [
          added.map((l) => l.linkId),
          added.map((l) => refKey(l.facts[0])),
          added.map((l) => refKey(l.facts[1])),
          added.map((l) => JSON.stringify(l.facts)),
        ],
      );
    }
    if (this.newSplits.length > 0) {
      await this.client.query(
        `INSERT INTO ${s}.splits (a_key, b_key) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
        [this.newSplits.map((p) => p[0]), this.newSplits.map((p) => p[1])],
      );
    }
    if (this.newConcepts.length > 0) {
      await this.client.query(
        `INSERT INTO ${s}.concepts (code, other) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
        [this.newConcepts.map((p) => p[0]), this.newConcepts.map((p) => p[1])],
      );
    }
  }

  private put(fact: StoredFact): void {
    const key = refKey(fact.ref);
    this.facts.set(key, fact);
    let facts = this.byPatient.get(fact.ref.patientId);
    if (!facts) this.byPatient.set(fact.ref.patientId, (facts = new Map()));
    facts.set(key, fact);
  }

  private addLink(link: CurrentLink): void {
    this.links.set(link.linkId, link);
    for (const ref of link.facts) {
      const key = refKey(ref);
      let set = this.linksByKey.get(key);
      if (!set) this.linksByKey.set(key, (set = new Set()));
      set.add(link.linkId);
    }
  }

  private memberSet(goldenId: string): Set<string> {
    let set = this.members.get(goldenId);
    if (!set) this.members.set(goldenId, (set = new Set()));
    return set;
  }
}
