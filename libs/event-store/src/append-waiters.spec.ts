import { AppendWaiters } from './append-waiters';

describe('AppendWaiters', () => {
  it('forgets a waiter when its timeout passes, not only when woken (an idle log must not pile them up)', async () => {
    const waiters = new AppendWaiters();
    await Promise.all(Array.from({ length: 1000 }, () => waiters.wait(1)));
    expect(waiters.size).toBe(0);
  });

  it('wakes every waiter at once, before its timeout, and forgets it', async () => {
    const waiters = new AppendWaiters();
    const started = Date.now();
    const woken = Promise.all([waiters.wait(60_000), waiters.wait(60_000)]);
    expect(waiters.size).toBe(2);
    waiters.wakeAll();
    await woken;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(waiters.size).toBe(0);
  });
});
