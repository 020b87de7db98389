import { END, EventStoreDBClient, excludeSystemEvents, StreamSubscription } from '@eventstore/db-client';
import { AppendWaiters } from '../append-waiters';

/**
 * waitForAppend on EventStoreDB: one live subscription to $all (server-side filter: no system events) wakes every
 * waiting reader when an event arrives. Opened on the first wait and reopened after an error; a wake-up it misses
 * costs a reader at most its timeout, as the port allows.
 */
export class AppendWaker {
  private subscription?: StreamSubscription;
  private readonly waiters = new AppendWaiters();
  private closed = false;

  constructor(private readonly client: EventStoreDBClient) {}

  wait(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.subscribe();
    return this.waiters.wait(timeoutMs);
  }

  private subscribe(): void {
    if (this.subscription) return;
    const subscription = this.client.subscribeToAll({ fromPosition: END, filter: excludeSystemEvents() });
    this.subscription = subscription;
    subscription.on('data', () => this.waiters.wakeAll());
    subscription.on('error', () => {
      // Reopened by the next wait; the waiters wake now and read again.
      if (this.subscription === subscription) this.subscription = undefined;
      this.waiters.wakeAll();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiters.wakeAll();
    const subscription = this.subscription;
    this.subscription = undefined;
    if (subscription) await subscription.unsubscribe().catch(() => undefined);
  }
}
