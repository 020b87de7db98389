import type { ChainedAccessRecord } from '../events/access-recorded.event';
import type { Anchor } from './anchor';
import { chainHash, ChainHead, GENESIS_HASH } from './audit-chain';

export type ChainProblemKind = 'altered' | 'deleted' | 'inserted' | 'anchor';

/** The first thing found wrong, naming the record (its seq) and what is wrong with it. */
export interface ChainProblem {
  readonly kind: ChainProblemKind;
  readonly seq: number;
  readonly detail: string;
}

/**
 * Recomputes the chain record by record (fed in seq order) and checks it against the signed anchors and the
 * database's own head row. Pure: the caller streams the rows and reads the anchor file.
 * - a record whose content, seq or predecessor hash was changed no longer hashes to its stored hash: altered;
 * - a gap in seq, or an anchor / head beyond the last record: deleted;
 * - a record that does not link to the one before it, or records beyond the head row: inserted (or the record
 *   before it was altered and re-hashed);
 * - a record whose hash differs from an anchor signed at its seq: altered and re-hashed, with everything after.
 */
export class ChainVerifier {
  private last: ChainHead = { seq: 0, hash: GENESIS_HASH };
  private readonly anchorsBySeq = new Map<number, Anchor>();
  checked = 0;
  anchorsMatched = 0;

  constructor(
    anchors: readonly Anchor[],
    private readonly head: ChainHead,
  ) {
    for (const anchor of anchors) this.anchorsBySeq.set(anchor.seq, anchor);
  }

  next(row: ChainedAccessRecord): ChainProblem | undefined {
    const { seq } = row;
    if (chainHash(seq, row.prevHash, row.record) !== row.hash)
      return {
        kind: 'altered',
        seq,
        detail: `record ${seq} does not hash to its stored hash: it was altered`,
      };
    if (seq > this.last.seq + 1) {
      const first = this.last.seq + 1;
      return {
        kind: 'deleted',
        seq: first,
        detail: `record${seq - 1 > first ? `s ${first}..${seq - 1}` : ` ${first}`} deleted (record ${seq} follows record ${this.last.seq})`,
      };
    }
    if (row.prevHash !== this.last.hash)
      return {
        kind: 'inserted',
        seq,
        detail: `record ${seq} does not link to record ${this.last.seq}: it was inserted, or record ${this.last.seq} was altered and re-hashed`,
      };
    const anchor = this.anchorsBySeq.get(seq);
    if (anchor) {
      if (anchor.hash !== row.hash)
        return {
          kind: 'anchor',
          seq,
          detail: `record ${seq} differs from the anchor signed at ${anchor.at}: it or a record before it was altered and the chain re-hashed`,
        };
      this.anchorsMatched++;
    }
    if (seq > this.head.seq)
      return {
        kind: 'inserted',
        seq,
        detail: `record ${seq} is beyond the chain head (${this.head.seq}): inserted`,
      };
    if (seq === this.head.seq && row.hash !== this.head.hash)
      return { kind: 'altered', seq, detail: `record ${seq} differs from the chain head's hash` };
    this.last = { seq, hash: row.hash };
    this.checked++;
    return undefined;
  }

  /** After the last record: what should exist beyond it (head row, anchors) and does not. */
  finish(): ChainProblem | undefined {
    const beyond = Math.max(this.head.seq, ...[...this.anchorsBySeq.keys()]);
    if (beyond > this.last.seq) {
      const first = this.last.seq + 1;
      const by = this.head.seq >= beyond ? 'the chain head' : 'a signed anchor';
      return {
        kind: 'deleted',
        seq: first,
        detail: `record${beyond > first ? `s ${first}..${beyond}` : ` ${first}`} deleted (${by} reaches ${beyond}, the last record is ${this.last.seq})`,
      };
    }
    return undefined;
  }
}
