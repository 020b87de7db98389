import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { PG_POOL } from '@fa/platform';
import { readAnchorPublicKey, readAnchorFile } from '../../anchors/anchor-files';
import { Anchor, readAnchorLine } from '../../domain/anchor';
import { ChainProblem, ChainVerifier } from '../../domain/verify-chain';
import { AccessRecord } from '../../events/access-recorded.event';
import { AUDIT_SETTINGS } from '../../audit-tokens';
import type { AuditSettings } from '../../anchors/anchor-files';
import { AuditVerification, VerifyAuditChainQuery } from './verify-audit-chain.query';

const PAGE = 5000;

@QueryHandler(VerifyAuditChainQuery)
export class VerifyAuditChainHandler implements IQueryHandler<VerifyAuditChainQuery, AuditVerification> {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(AUDIT_SETTINGS) private readonly settings: AuditSettings,
  ) {}

  async execute(): Promise<AuditVerification> {
    const {
      rows: [chain],
    } = await this.pool.query<{ chain_id: string; head_seq: string; head_hash: string }>(
      'SELECT chain_id, head_seq, head_hash FROM audit.chain WHERE id = 1',
    );
    const head = { seq: Number(chain.head_seq), hash: chain.head_hash };
    const { anchors, problem: anchorProblem } = await this.anchorsOf(chain.chain_id);
    const verifier = new ChainVerifier(anchors, head);
    const anchoredUpTo = Math.max(0, ...anchors.map((a) => a.seq));
    const result = (problem?: ChainProblem): AuditVerification => ({
      chainId: chain.chain_id,
      head: head.seq,
      checked: verifier.checked,
      anchors: anchors.length,
      anchorsMatched: verifier.anchorsMatched,
      anchoredUpTo,
      problem,
    });
    if (anchorProblem) return result(anchorProblem);
    let after = 0;
    for (;;) {
      const { rows } = await this.pool.query<{
        seq: string;
        prev_hash: string;
        hash: string;
        record: AccessRecord;
      }>('SELECT seq, prev_hash, hash, record FROM audit.records WHERE seq > $1 ORDER BY seq LIMIT $2', [
        after,
        PAGE,
      ]);
      for (const row of rows) {
        const problem = verifier.next({
          seq: Number(row.seq),
          prevHash: row.prev_hash,
          hash: row.hash,
          record: row.record,
        });
        if (problem) return result(problem);
      }
      if (rows.length < PAGE) break;
      after = Number(rows[rows.length - 1].seq);
    }
    return result(verifier.finish());
  }

  /** This chain's anchors; a line that is not a valid signed anchor is itself a problem (the file was touched). */
  private async anchorsOf(chainId: string): Promise<{ anchors: Anchor[]; problem?: ChainProblem }> {
    const lines = await readAnchorFile(this.settings.anchorDir);
    if (lines.length === 0) return { anchors: [] };
    const publicKey = await readAnchorPublicKey(this.settings.keyFile);
    if (!publicKey)
      return {
        anchors: [],
        problem: {
          kind: 'anchor',
          seq: 0,
          detail: `anchors exist but the signing key ${this.settings.keyFile} does not`,
        },
      };
    const anchors: Anchor[] = [];
    for (const { line, text } of lines) {
      const read = readAnchorLine(text, line, publicKey);
      if ('invalid' in read)
        return {
          anchors,
          problem: { kind: 'anchor', seq: 0, detail: `anchor file line ${line}: ${read.invalid}` },
        };
      if (read.anchor.chain === chainId) anchors.push(read.anchor);
    }
    return { anchors };
  }
}
