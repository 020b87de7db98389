import { canonicalJson, sha256Hex } from '@fa/fhir';
import type { AccessRecord, ChainedAccessRecord } from '../events/access-recorded.event';

/** The predecessor of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** SHA-256 over the canonical JSON of the record with its place and its predecessor's hash. */
export function chainHash(seq: number, prevHash: string, record: AccessRecord): string {
  return sha256Hex(canonicalJson({ seq, prev: prevHash, record }));
}

/** Links a batch after the head: consecutive seqs, each carrying its predecessor's hash. */
export function chainAfter(
  head: ChainHead,
  records: readonly AccessRecord[],
): { rows: ChainedAccessRecord[]; head: ChainHead } {
  let { seq, hash } = head;
  const rows = records.map((record) => {
    seq += 1;
    const prevHash = hash;
    hash = chainHash(seq, prevHash, record);
    return { seq, prevHash, hash, record };
  });
  return { rows, head: { seq, hash } };
}
