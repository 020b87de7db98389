import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { v5 as uuidv5 } from 'uuid';
import { FHIR_STORE_PROJECTION } from '@fa/fhir-store';
import { AGGREGATOR_NAMESPACE } from '@fa/ingestion';
import { AggregatorHarness, startAggregator } from './support/aggregator-harness';

/** Decimals as written on every path: ingest, content hash, read, history, search, $everything, rebuild. */
const SOURCE = 'lab';
const ourId = (type: string, id: string) => uuidv5(`${SOURCE}|${type}|${id}`, AGGREGATOR_NAMESPACE);

/** NDJSON lines written by hand: a JavaScript object could not hold 1.50. */
const patient =
  '{"resourceType":"Patient","id":"p1","name":[{"family":"Decimal"}],' +
  '"extension":[{"url":"http://example.org/qaly","valueDecimal":54.80}]}';
const observation = (id: string, value: string) =>
  `{"resourceType":"Observation","id":"${id}","status":"final","code":{"text":"potassium"},` +
  `"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":${value},"unit":"mmol/L"}}`;

describe('FHIR decimals keep their written precision (service over HTTP, real PostgreSQL)', () => {
  let harness: AggregatorHarness;
  let dir: string;
  const ingest = async (name: string, lines: string[]) => {
    const file = path.join(dir, name);
    await fs.writeFile(file, lines.join('\n') + '\n');
    return harness.ingest(SOURCE, [file]);
  };
  const text = async (url: string) => {
    const response = await harness.http().get(url).buffer(true);
    expect({ url, status: response.status }).toEqual({ url, status: 200 });
    return response.text;
  };
  const matches = async (url: string) =>
    [...(await text(url)).matchAll(/"fullUrl":"[^"]*\/Observation\/([^"]+)"/g)].map((m) => m[1]).sort();

  beforeAll(async () => {
    harness = await startAggregator();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-decimals-'));
    const summary = await ingest('v1.ndjson', [
      patient,
      observation('o1', '1.50'),
      observation('o2', '5.35'),
      observation('o3', '5.45'),
      observation('o4', '0.000'),
    ]);
    expect(summary).toMatchObject({ recorded: 5, rejected: [] });
  });
  afterAll(async () => {
    await harness?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('serves the decimals as written in read, search and $everything', async () => {
    expect(await text(`/fhir/Observation/${ourId('Observation', 'o1')}`)).toContain('"value":1.50');
    expect(await text(`/fhir/Observation/${ourId('Observation', 'o4')}`)).toContain('"value":0.000');
    const search = await text(`/fhir/Observation?subject=Patient/${ourId('Patient', 'p1')}`);
    expect(search).toContain('"value":1.50');
    expect(search).toContain('"value":0.000');
    const everything = await text(`/fhir/Patient/${ourId('Patient', 'p1')}/$everything`);
    expect(everything).toContain('"valueDecimal":54.80');
    expect(everything).toContain('"value":1.50');
  });

  it('searches numbers over the written precision, computed exactly', async () => {
    // eq5.4 is [5.35, 5.45): 5.35 is in (doubles made the low end 5.3500000000000005), 5.45 is not.
    expect(await matches('/fhir/Observation?value-quantity=5.4')).toEqual([ourId('Observation', 'o2')]);
    expect(await matches('/fhir/Observation?value-quantity=1.5')).toEqual([ourId('Observation', 'o1')]);
    expect(await matches('/fhir/Observation?value-quantity=0')).toEqual([ourId('Observation', 'o4')]);
    expect(await matches('/fhir/Observation?value-quantity=ge5.45')).toEqual([ourId('Observation', 'o3')]);
  });

  it('records a precision correction (1.50 then 1.5) as a new version; the same text again records nothing', async () => {
    expect(await ingest('v2.ndjson', [observation('o1', '1.5')])).toMatchObject({
      recorded: 1,
      unchanged: 0,
    });
    expect(await ingest('v3.ndjson', [observation('o1', '1.5')])).toMatchObject({
      recorded: 0,
      unchanged: 1,
    });
    const history = await text(`/fhir/Observation/${ourId('Observation', 'o1')}/_history`);
    expect([...history.matchAll(/"value":([\d.]+)/g)].map((m) => m[1])).toEqual(['1.5', '1.50']);
    expect(await text(`/fhir/Observation/${ourId('Observation', 'o1')}/_history/1`)).toContain(
      '"value":1.50',
    );
  });

  it('keeps them through a rebuild of the read model from the log', async () => {
    await harness.runtime.runner.rebuild(FHIR_STORE_PROJECTION);
    expect(await text(`/fhir/Observation/${ourId('Observation', 'o1')}/_history/1`)).toContain(
      '"value":1.50',
    );
    expect(await text(`/fhir/Observation/${ourId('Observation', 'o4')}`)).toContain('"value":0.000');
    expect(await matches('/fhir/Observation?value-quantity=5.4')).toEqual([ourId('Observation', 'o2')]);
  });
});
