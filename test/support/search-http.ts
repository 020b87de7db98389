import type { Bundle } from 'fhir/r4';
import type { AggregatorHarness } from './aggregator-harness';

/**
 * GET with an expected status (the body shown when it differs) and the ids of a search's matches over every
 * page, following next links: for suites that check ids rather than whole resources.
 */
export function searchHttp(harness: () => AggregatorHarness) {
  const get = async (url: string, status = 200, headers: Record<string, string> = {}) => {
    const request = harness().http().get(url);
    for (const [key, value] of Object.entries(headers)) request.set(key, value);
    const response = await request;
    expect({
      url,
      status: response.status,
      body: response.status === status ? undefined : response.body,
    }).toEqual({
      url,
      status,
      body: undefined,
    });
    return response.body as Bundle;
  };
  const allMatches = async (url: string): Promise<string[]> => {
    const ids: string[] = [];
    let next: string | undefined = url;
    while (next) {
      const bundle = await get(next.replace(/^https?:\/\/[^/]+/, ''));
      for (const entry of bundle.entry ?? [])
        if (entry.search?.mode === 'match') ids.push(entry.resource!.id!);
      next = bundle.link?.find((l) => l.relation === 'next')?.url;
    }
    return ids;
  };
  return { get, allMatches };
}
