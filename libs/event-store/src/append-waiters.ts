/**
 * Readers waiting for an append (waitForAppend of both adapters): each wakes at the next wakeAll() or after its
 * own timeout, whichever comes first, and is forgotten either way, so a log that stays quiet for hours holds no
 * waiter per idle poll.
 */
export class AppendWaiters {
  private readonly waiting = new Set<() => void>();

  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiting.add(done);
    });
  }

  wakeAll(): void {
    for (const wake of [...this.waiting]) wake();
  }

  /** How many wait now. */
  get size(): number {
    return this.waiting.size;
  }
}
