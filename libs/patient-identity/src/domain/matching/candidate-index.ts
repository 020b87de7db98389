import { blockingKeysOf } from './blocking';
import type { MatchFeatures } from './features';
import type { MatchCandidate } from './match-decision';

/** Where candidates come from; a PostgreSQL table of (blocking key, record id) can stand in for this one. */
export interface CandidateSource {
  candidatesFor(features: MatchFeatures): MatchCandidate[];
}

interface IndexedRecord {
  readonly recordId: string;
  readonly features: MatchFeatures;
  goldenId: string;
}

export interface InMemoryCandidateIndexOptions {
  /**
   * Only the newest records of an over-full block are read: such a key (a very common name in one year) is
   * weak evidence, and other keys still reach the true match. Bounds the cost per record.
   */
  readonly maxRecordsPerKey?: number;
  /** Also offer every other member of each candidate's golden, so the best-agreeing variant is scored. */
  readonly includeGoldenMembers?: boolean;
}

export class InMemoryCandidateIndex implements CandidateSource {
  private readonly byKey = new Map<string, IndexedRecord[]>();
  private readonly byRecord = new Map<string, IndexedRecord>();
  private readonly membersByGolden = new Map<string, IndexedRecord[]>();
  private readonly maxRecordsPerKey: number;
  private readonly includeGoldenMembers: boolean;

  constructor(options: InMemoryCandidateIndexOptions = {}) {
    this.maxRecordsPerKey = options.maxRecordsPerKey ?? 200;
    this.includeGoldenMembers = options.includeGoldenMembers ?? true;
  }

  add(recordId: string, features: MatchFeatures, goldenId: string): void {
    if (this.byRecord.has(recordId)) throw new Error(`Record ${recordId} is already indexed`);
    const record: IndexedRecord = { recordId, features, goldenId };
    this.byRecord.set(recordId, record);
    this.membersOf(goldenId).push(record);
    for (const key of blockingKeysOf(features)) {
      const block = this.byKey.get(key);
      if (block) block.push(record);
      else this.byKey.set(key, [record]);
    }
  }

  /** Moves every member of `merged` into `survivor`; the merged goldens cease to exist. */
  mergeGoldens(survivor: string, merged: readonly string[]): void {
    const members = this.membersOf(survivor);
    for (const goldenId of merged) {
      if (goldenId === survivor) continue;
      for (const record of this.membersByGolden.get(goldenId) ?? []) {
        record.goldenId = survivor;
        members.push(record);
      }
      this.membersByGolden.delete(goldenId);
    }
  }

  goldenOf(recordId: string): string | undefined {
    return this.byRecord.get(recordId)?.goldenId;
  }

  membersOfGolden(goldenId: string): string[] {
    return (this.membersByGolden.get(goldenId) ?? []).map((record) => record.recordId);
  }

  candidatesFor(features: MatchFeatures): MatchCandidate[] {
    const found = new Set<IndexedRecord>();
    for (const key of blockingKeysOf(features)) {
      const block = this.byKey.get(key);
      if (!block) continue;
      for (let i = Math.max(0, block.length - this.maxRecordsPerKey); i < block.length; i++)
        found.add(block[i]);
    }
    if (this.includeGoldenMembers) {
      for (const goldenId of new Set([...found].map((record) => record.goldenId))) {
        for (const member of this.membersOf(goldenId)) found.add(member);
      }
    }
    return [...found].map(({ recordId, features: candidate, goldenId }) => ({
      recordId,
      goldenId,
      features: candidate,
    }));
  }

  private membersOf(goldenId: string): IndexedRecord[] {
    let members = this.membersByGolden.get(goldenId);
    if (!members) {
      members = [];
      this.membersByGolden.set(goldenId, members);
    }
    return members;
  }
}
