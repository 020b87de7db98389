import type { QueryBus } from '@nestjs/cqrs';
import { PatientEverythingQuery, SearchResourcesQuery } from '@fa/fhir-store';
import { compileView } from '../../domain/compile-view';
import { RUN_VIEW_PAGE_SIZE, RunViewHandler } from './run-view.handler';
import { RunViewQuery } from './run-view.query';

/** The store's answers page by page, as SearchResourcesQuery pages them (by id, count, offset). */
function storeOf(total: number) {
  const asked: { type: string; offset: number; count: number; asOf?: Date; patient?: string }[] = [];
  const patients = Array.from({ length: total }, (_, i) => ({
    resourceType: 'Patient',
    id: `p${String(i).padStart(5, '0')}`,
  }));
  const page = (offset: number, count: number) => ({
    entries: patients.slice(offset, offset + count).map((resource) => ({ resource, deleted: false })),
    hasMore: offset + count < total,
  });
  const bus = {
    execute: async (query: unknown) => {
      if (query instanceof SearchResourcesQuery) {
        const { resourceType, offset, count, asOf } = query.request;
        asked.push({ type: resourceType, offset, count, asOf });
        const { entries, hasMore } = page(offset, count);
        return { matches: entries, included: [], hasMore };
      }
      if (query instanceof PatientEverythingQuery) {
        const { patientId, offset, count, asOf } = query.criteria;
        asked.push({ type: 'everything', offset, count, asOf, patient: patientId });
        return patientId === 'gone'
          ? { status: 'not-found' }
          : { status: 'found', total, ...page(offset, count) };
      }
      throw new Error('unexpected query');
    },
  };
  return { bus: bus as unknown as QueryBus, asked };
}

const view = compileView({
  resource: 'Patient',
  select: [{ column: [{ name: 'id', path: 'id' }] }],
});
const asOf = new Date('2026-01-01T00:00:00Z');

async function collect(rows: AsyncIterable<Record<string, unknown>>) {
  const out: unknown[] = [];
  for await (const row of rows) out.push(row.id);
  return out;
}

describe('RunViewHandler paging', () => {
  it('reads every page at the same instant and yields every row in order', async () => {
    const total = RUN_VIEW_PAGE_SIZE * 2 + 5;
    const { bus, asked } = storeOf(total);
    const result = await new RunViewHandler(bus).execute(new RunViewQuery(view, { asOf }));
    if (result.status !== 'found') throw new Error(result.status);
    const ids = await collect(result.rows);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    expect(asked.map((a) => a.offset)).toEqual([0, RUN_VIEW_PAGE_SIZE, RUN_VIEW_PAGE_SIZE * 2]);
    expect(asked.every((a) => a.asOf === asOf && a.type === 'Patient')).toBe(true);
  });

  it('stops reading once _limit rows are out', async () => {
    const { bus, asked } = storeOf(RUN_VIEW_PAGE_SIZE * 3);
    const result = await new RunViewHandler(bus).execute(new RunViewQuery(view, { asOf, limit: 3 }));
    if (result.status !== 'found') throw new Error(result.status);
    expect(await collect(result.rows)).toEqual(['p00000', 'p00001', 'p00002']);
    expect(asked).toHaveLength(1);
  });

  it("reads another type's rows through the patient's compartment, and says when the patient is unknown", async () => {
    const observations = compileView({
      resource: 'Observation',
      select: [{ column: [{ name: 'id', path: 'id' }] }],
    });
    const { bus, asked } = storeOf(2);
    const found = await new RunViewHandler(bus).execute(
      new RunViewQuery(observations, { asOf, patientId: 'p1' }),
    );
    expect(found.status).toBe('found');
    expect(asked[0]).toMatchObject({ type: 'everything', patient: 'p1', offset: 0, asOf });
    const gone = await new RunViewHandler(bus).execute(
      new RunViewQuery(observations, { asOf, patientId: 'gone' }),
    );
    expect(gone).toEqual({ status: 'patient-not-found', patientId: 'gone' });
  });
});
