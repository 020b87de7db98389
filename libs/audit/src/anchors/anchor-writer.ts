import type { Logger } from 'pino';
import { signAnchor } from '../domain/anchor';
import type { ChainHead } from '../domain/audit-chain';
import type { ChainHeadListener } from '../storage/access-journal';
import { AnchorKeys, appendAnchor, AuditSettings, loadOrCreateAnchorKey } from './anchor-files';

/**
 * Writes a signed checkpoint of the chain head at most every AUDIT_ANCHOR_INTERVAL after the head moved, and a
 * last one at shutdown. Off the request path: a response waits for its record's commit, never for an anchor.
 */
export class AnchorWriter implements ChainHeadListener {
  private latest?: { chainId: string; head: ChainHead };
  private anchoredSeq = 0;
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private keys?: Promise<AnchorKeys>;
  written = 0;

  constructor(
    private readonly settings: AuditSettings,
    private readonly log?: Logger,
  ) {}

  headMoved(chainId: string, head: ChainHead): void {
    if (!this.latest || head.seq > this.latest.head.seq) this.latest = { chainId, head };
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.anchorNow();
    }, this.settings.anchorIntervalMs);
    this.timer.unref();
  }

  /** Anchors the latest head if it moved since the last anchor; anchors are written one at a time. */
  anchorNow(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const latest = this.latest;
      if (!latest || latest.head.seq <= this.anchoredSeq) return;
      try {
        this.keys ??= loadOrCreateAnchorKey(this.settings.keyFile);
        const { privateKey, publicKey } = await this.keys;
        const anchor = signAnchor(
          {
            chain: latest.chainId,
            seq: latest.head.seq,
            hash: latest.head.hash,
            at: new Date().toISOString(),
          },
          privateKey,
          publicKey,
        );
        await appendAnchor(this.settings.anchorDir, anchor);
        this.anchoredSeq = latest.head.seq;
        this.written++;
      } catch (error) {
        this.keys = undefined;
        this.log?.error({ err: (error as Error).name, seq: latest.head.seq }, 'audit anchor not written');
      }
    });
    return this.writing;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.anchorNow();
  }
}
