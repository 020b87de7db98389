import { shutdownWithDeadline } from './shutdown';

const log = { info: jest.fn(), error: jest.fn() };
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('shutdownWithDeadline', () => {
  it('runs the steps in order and exits 0 when they finish in time', async () => {
    const order: string[] = [];
    const exit = jest.fn();
    await shutdownWithDeadline({
      timeoutMs: 1000,
      log,
      exit,
      steps: [
        { name: 'kafka', run: async () => void order.push('kafka') },
        { name: 'http', run: async () => void order.push('http') },
      ],
    });
    expect(order).toEqual(['kafka', 'http']);
    expect(exit).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(0);
  });

  it('exits 1 at the deadline when a step hangs, without running the later steps', async () => {
    const exit = jest.fn();
    const later = jest.fn();
    const started = Date.now();
    void shutdownWithDeadline({
      timeoutMs: 100,
      log,
      exit,
      steps: [
        { name: 'kafka', run: () => new Promise<void>(() => undefined) },
        { name: 'http', run: later },
      ],
    });
    await sleep(150);
    expect(exit).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(1);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(later).not.toHaveBeenCalled();
    expect(log.error).toHaveBeenCalledWith(
      { timeoutMs: 100, step: 'kafka' },
      'shutdown deadline passed; exiting without finishing',
    );
  });

  it('exits 1 once when a step fails', async () => {
    const exit = jest.fn();
    await shutdownWithDeadline({
      timeoutMs: 1000,
      log,
      exit,
      steps: [
        {
          name: 'kafka',
          run: async () => {
            throw new Error('broker gone');
          },
        },
      ],
    });
    await sleep(20);
    expect(exit.mock.calls).toEqual([[1]]);
  });
});
