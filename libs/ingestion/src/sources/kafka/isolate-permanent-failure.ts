import { classifyFailure } from '@fa/platform';

export interface IsolationSteps<T, R> {
  /** Appends these items in one transaction; `whole` is true for the first try of the whole list. */
  append(items: T[], whole: boolean): Promise<R>;
  /** Records that this one item can never be appended (e.g. dead-letters it). */
  reject(item: T, error: unknown): Promise<R>;
  /** Told each time a permanent failure makes a list split in two. */
  onSplit?(size: number, error: unknown): void;
}

/**
 * Appends a list of items (the messages of a chunk) so that one bad item cannot hold back the others. A
 * transient failure is thrown for the caller to retry the whole list; a permanent one (see classifyFailure)
 * splits the list in halves, each tried on its own, until the items that fail alone are found: those are
 * rejected, every other item is appended. One poison message in n costs about 2·log2(n) extra appends.
 */
export async function appendIsolatingPermanentFailures<T, R>(
  items: T[],
  steps: IsolationSteps<T, R>,
): Promise<R[]> {
  const results: R[] = [];
  const attempt = async (list: T[], whole: boolean): Promise<void> => {
    if (list.length === 0) return;
    try {
      results.push(await steps.append(list, whole));
    } catch (error) {
      if (classifyFailure(error) !== 'permanent') throw error;
      if (list.length === 1) {
        results.push(await steps.reject(list[0], error));
        return;
      }
      steps.onSplit?.(list.length, error);
      const half = Math.ceil(list.length / 2);
      await attempt(list.slice(0, half), false);
      await attempt(list.slice(half), false);
    }
  };
  await attempt(items, true);
  return results;
}
