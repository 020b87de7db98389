import type { PoolClient } from 'pg';
import type { Patient } from 'fhir/r4';
import { v5 as uuidv5 } from 'uuid';
import type {
  AppendRequest,
  EventToAppend,
  EventStore,
  ProcessManager,
  RecordedEvent,
} from '@fa/event-store';
import {
  RESOURCE_DELETED,
  RESOURCE_VERSION_RECORDED,
  ResourceDeletedData,
  ResourceVersionLineage,
  ResourceVersionRecordedData,
  resourceStreamId,
} from '@fa/ingestion';
import {
  DecidedBy,
  GOLDEN_PATIENT_CREATED,
  GOLDEN_PATIENTS_MERGED,
  GoldenPatientCreatedData,
  GoldenPatientsMergedData,
  IDENTITY_STREAM_PREFIX,
  identityStreamId,
  LINK_REVIEW_REQUESTED,
  LINK_REVIEW_RESOLVED,
  LinkReviewRequestedData,
  LinkReviewResolvedData,
  PATIENT_LINKED,
  PATIENT_UNLINKED,
  PatientLinkedData,
  PatientUnlinkedData,
} from '../domain/identity-events';
import { decideLink, ScoredGolden } from '../domain/link-decision';
import type { IdentityMatcher } from '../domain/identity-matcher';

export const PATIENT_MATCHING_PROCESSOR = 'patient-matching';

/** Namespace of golden patient ids and decision event ids (UUIDv5): replays and retries decide the same ids. */
export const IDENTITY_NAMESPACE = '0b7c4e0e-2f55-4d8e-9a8f-6c1d3f0f9a11';

const SETUP_SQL = (schema: string) => `
CREATE TABLE ${schema}.source_patients (
  source_patient_id text PRIMARY KEY,
  source text NOT NULL,
  golden_id text,
  manual boolean NOT NULL DEFAULT false,
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

interface MemberState {
  sourcePatientId: string;
  source: string;
  goldenId: string | null;
  manual: boolean;
  features: unknown;
  blockingKeys: string[];
  /** Golden, manual or features changed: the row is written back. */
  dirty: boolean;
  /** Blocking keys changed: the member's blocking rows are rewritten. */
  keysChanged: boolean;
}

/**
 * The online matcher as a process manager: it follows the global log like a projection, decides for every
 * source Patient version which golden patient it belongs to, and appends those decisions as identity events in
 * the same transaction as its own state and checkpoint (EventStore.appendMany with `within`). It also follows the
 * identity events reviewers cause, so their decisions bind later automatic ones.
 *
 * Its state is not a read model to rebuild: replaying it would decide again. Its version stays fixed; the
 * patient-identity projection, which only records decisions, is the one to rebuild.
 */
export class PatientMatchingProcessor implements ProcessManager {
  readonly kind = 'process-manager';
  readonly name = PATIENT_MATCHING_PROCESSOR;
  readonly version = 1;
  readonly readSchema = 'patient_matching';
  readonly tables = ['source_patients', 'blocking', 'not_matching'] as const;
  /** Source patients, and the golden patients' streams for reviewers' decisions. */
  readonly streamPrefixes = [resourceStreamId('Patient', ''), IDENTITY_STREAM_PREFIX];

  constructor(
    private readonly matcher: IdentityMatcher,
    private readonly store: EventStore,
  ) {}

  async setup(client: PoolClient, schema: string): Promise<void> {
    await client.query(SETUP_SQL(schema));
  }

  async apply(client: PoolClient, schema: string, events: RecordedEvent[]): Promise<void> {
    const relevant = events.filter(
      (event) =>
        ((event.type === RESOURCE_VERSION_RECORDED || event.type === RESOURCE_DELETED) &&
          (event.data as { resourceType?: string }).resourceType === 'Patient') ||
        // The matcher's own decisions changed its state when it made them; only reviewers' need applying.
        ((event.type === PATIENT_LINKED || event.type === PATIENT_UNLINKED) &&
          (event.data as { decidedBy?: DecidedBy }).decidedBy?.kind === 'reviewer') ||
        event.type === LINK_REVIEW_RESOLVED,
    );
    if (relevant.length === 0) return;
    const batch = new BatchState(client, schema);
    const arriving = relevant.filter((e) => e.type === RESOURCE_VERSION_RECORDED);
    const incoming = arriving.map((event) => {
      const patient = (event.data as ResourceVersionRecordedData).resource as Patient;
      const features = this.matcher.featuresOf(patient);
      return { event, features, keys: this.matcher.blockingKeysOf(features) };
    });
    await batch.load(
      relevant.map(
        (e) =>
          (e.data as { sourcePatientId?: string; id?: string }).sourcePatientId ??
          (e.data as { id: string }).id,
      ),
      incoming.flatMap((i) => i.keys),
    );
    const appends = new Map<string, EventToAppend[]>();
    const emit = (goldenId: string, event: EventToAppend) => {
      const stream = identityStreamId(goldenId);
      appends.set(stream, [...(appends.get(stream) ?? []), event]);
    };
    const byEventId = new Map(incoming.map((i) => [i.event.id, i]));
    const decidedBy: DecidedBy = { kind: 'matcher', version: this.matcher.version };

    for (const event of relevant) {
      if (event.type === PATIENT_LINKED) {
        const data = event.data as PatientLinkedData;
        batch.link(data.sourcePatientId, data.goldenId, data.manual);
        continue;
      }
      if (event.type === PATIENT_UNLINKED) {
        const data = event.data as PatientUnlinkedData;
        batch.unlink(data.sourcePatientId, data.goldenId);
        if (data.reason === 'reviewer-no-match') batch.notMatching(data.sourcePatientId, data.goldenId);
        continue;
      }
      if (event.type === LINK_REVIEW_RESOLVED) {
        const data = event.data as LinkReviewResolvedData;
        if (data.resolution === 'NO_MATCH') batch.notMatching(data.sourcePatientId, data.goldenId);
        continue;
      }
      const id = (n: string) => uuidv5(`${event.id}|${n}`, IDENTITY_NAMESPACE);
      if (event.type === RESOURCE_DELETED) {
        const data = event.data as ResourceDeletedData;
        const member = batch.member(data.id);
        if (member?.goldenId) {
          emit(member.goldenId, {
            id: id('unlink'),
            type: PATIENT_UNLINKED,
            data: {
              goldenId: member.goldenId,
              sourcePatientId: data.id,
              reason: 'source-deleted',
              decidedBy,
              causationId: event.id,
            } satisfies PatientUnlinkedData,
          });
          batch.unlink(data.id, member.goldenId);
        }
        batch.forget(data.id);
        continue;
      }
      const { features, keys } = byEventId.get(event.id)!;
      const data = event.data as ResourceVersionRecordedData;
      const lineage = event.metadata as ResourceVersionLineage;
      if (lineage.supersedesCurrent === false) continue;
      const sourcePatientId = data.id;
      const member = batch.upsert(sourcePatientId, lineage.source, features, keys);
      const scored = this.score(batch, member);
      const decision = decideLink(
        {
          goldenId: member.goldenId ?? undefined,
          manual: member.manual,
          notMatching: batch.notMatchingOf(sourcePatientId),
        },
        scored,
      );
      if (decision.kind === 'keep') continue;
      if (decision.unlinkFrom) {
        emit(decision.unlinkFrom, {
          id: id('unlink'),
          type: PATIENT_UNLINKED,
          data: {
            goldenId: decision.unlinkFrom,
            sourcePatientId,
            reason: 'moved-by-matcher',
            decidedBy,
            causationId: event.id,
          } satisfies PatientUnlinkedData,
        });
        batch.unlink(sourcePatientId, decision.unlinkFrom);
      }
      if (decision.kind === 'create-golden') {
        const goldenId = id('golden');
        emit(goldenId, {
          id: id('golden-created'),
          type: GOLDEN_PATIENT_CREATED,
          data: {
            goldenId,
            firstSourcePatientId: sourcePatientId,
            decidedBy,
          } satisfies GoldenPatientCreatedData,
        });
        emit(goldenId, {
          id: id('link'),
          type: PATIENT_LINKED,
          data: {
            goldenId,
            sourcePatientId,
            source: lineage.source,
            matchResult: 'MATCH',
            manual: false,
            rule: 'new-golden',
            decidedBy,
            causationId: event.id,
          } satisfies PatientLinkedData,
        });
        batch.link(sourcePatientId, goldenId, false);
        continue;
      }
      emit(decision.goldenId, {
        id: id('link'),
        type: PATIENT_LINKED,
        data: {
          goldenId: decision.goldenId,
          sourcePatientId,
          source: lineage.source,
          matchResult: decision.possible ? 'POSSIBLE_MATCH' : 'MATCH',
          manual: false,
          rule: decision.possible ? 'possible-match' : 'auto-match',
          explanation: decision.explanation,
          decidedBy,
          causationId: event.id,
        } satisfies PatientLinkedData,
      });
      if (decision.possible) {
        emit(decision.goldenId, {
          id: id('review'),
          type: LINK_REVIEW_REQUESTED,
          data: {
            goldenId: decision.goldenId,
            sourcePatientId,
            explanation: decision.explanation,
            alternatives: decision.alternatives.map((a) => ({
              goldenId: a.goldenId,
              probability: a.explanation.probability,
            })),
            causationId: event.id,
          } satisfies LinkReviewRequestedData,
        });
      }
      batch.link(sourcePatientId, decision.goldenId, false);
      if (!decision.possible) {
        // A record that MATCHes two golden patients bridges them: they are one person (what batch linkage's
        // connected components conclude). Golden patients holding a reviewer's decision are left alone.
        for (const other of decision.alternatives) {
          if (other.result !== 'MATCH' || other.goldenId === decision.goldenId) continue;
          const members = await batch.membersOf(other.goldenId);
          const blocked = members.some(
            (m) => m.manual || batch.notMatchingOf(m.sourcePatientId).has(decision.goldenId),
          );
          if (blocked || batch.notMatchingOf(sourcePatientId).has(other.goldenId)) continue;
          for (const moved of members) {
            emit(other.goldenId, {
              id: id(`merge-unlink|${moved.sourcePatientId}`),
              type: PATIENT_UNLINKED,
              data: {
                goldenId: other.goldenId,
                sourcePatientId: moved.sourcePatientId,
                reason: 'merge',
                decidedBy,
                causationId: event.id,
              } satisfies PatientUnlinkedData,
            });
            emit(decision.goldenId, {
              id: id(`merge-link|${moved.sourcePatientId}`),
              type: PATIENT_LINKED,
              data: {
                goldenId: decision.goldenId,
                sourcePatientId: moved.sourcePatientId,
                source: moved.source,
                matchResult: 'MATCH',
                manual: false,
                rule: 'merge',
                explanation: other.explanation,
                decidedBy,
                causationId: event.id,
              } satisfies PatientLinkedData,
            });
            batch.link(moved.sourcePatientId, decision.goldenId, false);
          }
          emit(other.goldenId, {
            id: id(`merged|${other.goldenId}`),
            type: GOLDEN_PATIENTS_MERGED,
            data: {
              fromGoldenId: other.goldenId,
              intoGoldenId: decision.goldenId,
              movedSourcePatientIds: members.map((m) => m.sourcePatientId),
              decidedBy,
            } satisfies GoldenPatientsMergedData,
          });
        }
      }
    }
    const requests: AppendRequest[] = [...appends].map(([streamId, streamEvents]) => ({
      streamId,
      events: streamEvents,
    }));
    if (requests.length > 0) await this.store.appendMany(requests, { within: client });
    await batch.save();
  }

  /** Best comparison with each candidate golden patient: the highest-scoring of its members. */
  private score(batch: BatchState, member: MemberState): ScoredGolden[] {
    const byGolden = new Map<string, ScoredGolden>();
    for (const candidate of batch.candidatesOf(member)) {
      if (!candidate.goldenId) continue;
      const explanation = {
        ...this.matcher.compare(member.features, candidate.features),
        comparedWith: candidate.sourcePatientId,
      };
      const existing = byGolden.get(candidate.goldenId);
      if (existing) existing.otherMembers++;
      if (!existing || explanation.weight > existing.explanation.weight) {
        byGolden.set(candidate.goldenId, {
          goldenId: candidate.goldenId,
          result: this.matcher.classify(explanation),
          explanation,
          otherMembers: existing?.otherMembers ?? 1,
        });
      }
    }
    return [...byGolden.values()];
  }
}

/**
 * The part of the matcher's state one batch touches, loaded in two queries and written back in three: the
 * batch's source patients and every source patient sharing a blocking key with an arriving version.
 */
class BatchState {
  private readonly members = new Map<string, MemberState>();
  private readonly byKey = new Map<string, Set<string>>();
  private readonly notMatchingPairs = new Map<string, Set<string>>();
  private readonly newNotMatching: [string, string][] = [];
  private readonly forgotten = new Set<string>();

  constructor(
    private readonly client: PoolClient,
    private readonly schema: string,
  ) {}

  async load(sourcePatientIds: string[], keys: string[]): Promise<void> {
    await this.loadMembers(
      `p.source_patient_id = ANY($1::text[])
        OR p.source_patient_id IN (SELECT b.source_patient_id FROM ${this.schema}.blocking b WHERE b.key = ANY($2::text[]))`,
      [sourcePatientIds, [...new Set(keys)]],
    );
  }

  /** Every source patient of a golden patient, loading those the batch has not seen, with their rules. */
  async membersOf(goldenId: string): Promise<MemberState[]> {
    await this.loadMembers(`p.golden_id = $1 AND NOT (p.source_patient_id = ANY($2::text[]))`, [
      goldenId,
      [...this.members.keys()],
    ]);
    return [...this.members.values()].filter((m) => m.goldenId === goldenId);
  }

  /** Source patients matching `where` (over alias p), with the not-matching rules that bind them. */
  private async loadMembers(where: string, params: unknown[]): Promise<void> {
    const rows = await this.client.query<{
      source_patient_id: string;
      source: string;
      golden_id: string | null;
      manual: boolean;
      features: unknown;
      blocking_keys: string[];
    }>(
      `SELECT p.source_patient_id, p.source, p.golden_id, p.manual, p.features, p.blocking_keys
         FROM ${this.schema}.source_patients p WHERE ${where}`,
      params,
    );
    for (const row of rows.rows) {
      this.remember({
        sourcePatientId: row.source_patient_id,
        source: row.source,
        goldenId: row.golden_id,
        manual: row.manual,
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

  member(id: string): MemberState | undefined {
    return this.members.get(id);
  }

  upsert(sourcePatientId: string, source: string, features: unknown, blockingKeys: string[]): MemberState {
    const existing = this.members.get(sourcePatientId);
    if (existing) {
      for (const key of existing.blockingKeys) this.byKey.get(key)?.delete(sourcePatientId);
    }
    const member: MemberState = {
      sourcePatientId,
      source,
      goldenId: existing?.goldenId ?? null,
      manual: existing?.manual ?? false,
      features,
      blockingKeys,
      dirty: true,
      keysChanged: !existing || existing.blockingKeys.join('\n') !== blockingKeys.join('\n'),
    };
    this.remember(member);
    this.forgotten.delete(sourcePatientId);
    return member;
  }

  candidatesOf(member: MemberState): MemberState[] {
    const ids = new Set<string>();
    for (const key of member.blockingKeys) for (const id of this.byKey.get(key) ?? []) ids.add(id);
    ids.delete(member.sourcePatientId);
    return [...ids].map((id) => this.members.get(id)!).filter((m) => m.goldenId);
  }

  link(sourcePatientId: string, goldenId: string, manual: boolean): void {
    const member = this.members.get(sourcePatientId);
    if (!member || (member.goldenId === goldenId && member.manual === manual)) return;
    member.goldenId = goldenId;
    member.manual = manual;
    member.dirty = true;
  }

  unlink(sourcePatientId: string, goldenId: string): void {
    const member = this.members.get(sourcePatientId);
    if (!member || member.goldenId !== goldenId) return;
    member.goldenId = null;
    member.manual = false;
    member.dirty = true;
  }

  forget(sourcePatientId: string): void {
    const member = this.members.get(sourcePatientId);
    if (!member) return;
    for (const key of member.blockingKeys) this.byKey.get(key)?.delete(sourcePatientId);
    this.members.delete(sourcePatientId);
    this.forgotten.add(sourcePatientId);
  }

  notMatching(sourcePatientId: string, goldenId: string): void {
    this.addNotMatching(sourcePatientId, goldenId);
    this.newNotMatching.push([sourcePatientId, goldenId]);
  }

  notMatchingOf(sourcePatientId: string): ReadonlySet<string> {
    return this.notMatchingPairs.get(sourcePatientId) ?? new Set();
  }

  async save(): Promise<void> {
    const dirty = [...this.members.values()].filter((m) => m.dirty);
    if (dirty.length > 0) {
      await this.client.query(
        `INSERT INTO ${this.schema}.source_patients (source_patient_id, source, golden_id, manual, features, blocking_keys)
         SELECT r.i, r.s, r.g, r.m, r.f, ARRAY(SELECT json_array_elements_text(r.k))
           FROM json_to_recordset($1::json) AS r(i text, s text, g text, m boolean, f jsonb, k json)
         ON CONFLICT (source_patient_id) DO UPDATE SET source = EXCLUDED.source, golden_id = EXCLUDED.golden_id,
           manual = EXCLUDED.manual, features = EXCLUDED.features, blocking_keys = EXCLUDED.blocking_keys`,
        [
          JSON.stringify(
            dirty.map((m) => ({
              i: m.sourcePatientId,
              s: m.source,
              g: m.goldenId,
              m: m.manual,
              f: m.features,
              k: m.blockingKeys,
            })),
          ),
        ],
      );
    }
    const rekeyed = [...this.members.values()].filter((m) => m.keysChanged);
    if (rekeyed.length > 0) {
      const ids = rekeyed.map((m) => m.sourcePatientId);
      await this.client.query(
        `DELETE FROM ${this.schema}.blocking WHERE source_patient_id = ANY($1::text[])`,
        [ids],
      );
      await this.client.query(
        `INSERT INTO ${this.schema}.blocking (key, source_patient_id)
         SELECT DISTINCT r.k, r.i FROM json_to_recordset($1::json) AS r(k text, i text)`,
        [JSON.stringify(rekeyed.flatMap((m) => m.blockingKeys.map((k) => ({ k, i: m.sourcePatientId }))))],
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

  private remember(member: MemberState): void {
    this.members.set(member.sourcePatientId, member);
    for (const key of member.blockingKeys) {
      let set = this.byKey.get(key);
      if (!set) this.byKey.set(key, (set = new Set()));
      set.add(member.sourcePatientId);
    }
  }

  private addNotMatching(sourcePatientId: string, goldenId: string): void {
    let set = this.notMatchingPairs.get(sourcePatientId);
    if (!set) this.notMatchingPairs.set(sourcePatientId, (set = new Set()));
    set.add(goldenId);
  }
}
