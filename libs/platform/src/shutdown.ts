export interface ShutdownOptions {
  /** After this long the process exits 1 whatever is still running (SHUTDOWN_TIMEOUT). */
  timeoutMs: number;
  /** Run in order: e.g. stop consuming (commits only what is appended), close HTTP, close the database. */
  steps: { name: string; run: () => Promise<void> }[];
  log: { info(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  /** process.exit in the service; a test's spy otherwise. */
  exit: (code: number) => void;
}

/**
 * A graceful shutdown that always ends: the steps run one after the other; if they are all done the process
 * exits 0, if one fails or the deadline passes first (e.g. a Kafka broker is unreachable and leaving the group
 * retries for minutes) it exits 1. Nothing is committed by exiting: Kafka offsets are committed only after the
 * events before them are durably appended, so whatever was in flight is redelivered and recorded once.
 */
export async function shutdownWithDeadline(options: ShutdownOptions): Promise<void> {
  const started = Date.now();
  let current = 'start';
  let done = false;
  const deadline = setTimeout(() => {
    if (done) return;
    done = true;
    options.log.error(
      { timeoutMs: options.timeoutMs, step: current },
      'shutdown deadline passed; exiting without finishing',
    );
    options.exit(1);
  }, options.timeoutMs);
  deadline.unref?.();
  try {
    for (const step of options.steps) {
      current = step.name;
      await step.run();
      if (done) return;
    }
  } catch (error) {
    if (done) return;
    done = true;
    clearTimeout(deadline);
    options.log.error(
      { step: current, err: error instanceof Error ? error.name : 'unknown' },
      'shutdown step failed; exiting',
    );
    options.exit(1);
    return;
  }
  if (done) return;
  done = true;
  clearTimeout(deadline);
  options.log.info({ ms: Date.now() - started }, 'shut down cleanly');
  options.exit(0);
}
