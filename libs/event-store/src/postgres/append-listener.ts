import type { Pool, PoolClient } from 'pg';
import { AppendWaiters } from '../append-waiters';
import { EVENTS_APPENDED_CHANNEL } from './event-store-schema';

/**
 * waitForAppend for the PostgreSQL adapter: one connection LISTENs on the channel every append NOTIFYs at
 * commit. While it is up, a waiter sleeps until notified (or its timeout: a notified commit can still be
 * invisible behind an older open transaction); while it is down (database unreachable), waiters poll every
 * `pollMs` and the listener is retried every few seconds, never waited on.
 */
export class AppendListener {
  private listener?: PoolClient;
  private retryAt = 0;
  private readonly waiters = new AppendWaiters();
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly pollMs = 50,
  ) {}

  wait(timeoutMs: number): Promise<void> {
    void this.ensureListener();
    const delay = this.listener && !this.closed ? timeoutMs : Math.min(timeoutMs, this.pollMs);
    return this.waiters.wait(delay);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiters.wakeAll();
    const listener = this.listener;
    this.listener = undefined;
    if (listener) {
      await listener.query(`UNLISTEN ${EVENTS_APPENDED_CHANNEL}`).catch(() => undefined);
      listener.release();
    }
  }

  private async ensureListener(): Promise<void> {
    if (this.listener || this.closed || Date.now() < this.retryAt) return;
    this.retryAt = Date.now() + 5_000;
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const listener = client;
      listener.on('notification', () => this.waiters.wakeAll());
      listener.on('error', () => {
        // Back to polling until a new connection can listen again.
        if (this.listener !== listener) return;
        this.listener = undefined;
        listener.release(true);
      });
      await listener.query(`LISTEN ${EVENTS_APPENDED_CHANNEL}`);
      if (this.closed) {
        listener.release();
        return;
      }
      this.listener = listener;
    } catch {
      if (client && this.listener !== client) client.release(true);
    }
  }
}
