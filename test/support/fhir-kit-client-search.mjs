// A real FHIR client (fhir-kit-client 2.x, ESM-only) run as a child process by test/fhir-kit-client.e2e-spec.ts.
//
//   node test/support/fhir-kit-client-search.mjs <baseUrl> '<JSON array of steps>'
//
// A step is { kind: 'search', resourceType, searchParams, post? } or { kind: 'everything', id, params }, optionally
// with pauseAfterFirstPage: true (the script then prints {"paused":<step index>} and waits for a line on stdin
// before following the next links). Each step follows `next` links with client.nextPage() until there is none and
// prints one JSON line: { step, pages: [{ total, links, entries: [{ fullUrl, mode, resource }] }] } or
// { step, error: { status, data, message } }.
import { createInterface } from 'node:readline';
import { Client } from 'fhir-kit-client';

const MAX_PAGES = 1000;

const [baseUrl, stepsJson] = process.argv.slice(2);
if (!baseUrl || !stepsJson) {
  console.error('usage: fhir-kit-client-search.mjs <baseUrl> <steps JSON>');
  process.exit(2);
}
const steps = JSON.parse(stepsJson);
const client = new Client({ baseUrl });
const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const print = (value) => process.stdout.write(JSON.stringify(value) + '\n');

function firstPage(step) {
  switch (step.kind) {
    case 'search':
      return client.search({
        resourceType: step.resourceType,
        searchParams: step.searchParams,
        options: step.post ? { postSearch: true } : {},
      });
    case 'everything':
      return client.operation({
        name: '$everything',
        resourceType: 'Patient',
        id: step.id,
        method: 'GET',
        input: step.params && Object.keys(step.params).length > 0 ? step.params : undefined,
      });
    default:
      throw new Error(`unknown step kind ${JSON.stringify(step.kind)}`);
  }
}

const pageOf = (bundle) => ({
  resourceType: bundle.resourceType,
  type: bundle.type,
  total: bundle.total ?? null,
  links: (bundle.link ?? []).map((l) => ({ relation: l.relation, url: l.url })),
  entries: (bundle.entry ?? []).map((e) => ({
    fullUrl: e.fullUrl ?? null,
    mode: e.search?.mode ?? null,
    resource: e.resource ?? null,
  })),
});

for (const [index, step] of steps.entries()) {
  try {
    const pages = [];
    let bundle = await firstPage(step);
    while (bundle) {
      pages.push(pageOf(bundle));
      if (pages.length >= MAX_PAGES)
        throw new Error(`more than ${MAX_PAGES} pages: the next links do not end`);
      if (pages.length === 1 && step.pauseAfterFirstPage) {
        print({ paused: index });
        await stdinLines.next();
      }
      bundle = await client.nextPage({ bundle });
    }
    print({ step: index, pages });
  } catch (error) {
    print({
      step: index,
      error: {
        status: error.response?.status ?? null,
        data: error.response?.data ?? null,
        message: error.message,
      },
    });
  }
}
// Exit only once stdout is flushed: to a pipe, process.exit() can drop writes still queued.
await new Promise((resolve) => process.stdout.write('', resolve));
process.exit(0);
