import type { AccessRecord } from '../events/access-recorded.event';
import { chainAfter, GENESIS_HASH } from './audit-chain';
import { ChainVerifier } from './verify-chain';

const record = (i: number): AccessRecord => ({
  recorded: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  requestId: `r${i}`,
  client: i % 2 ? 'client-a' : null,
  scopes: i % 2 ? ['system/Patient.rs'] : [],
  address: '127.0.0.1',
  method: 'GET',
  route: '/fhir/:type/:id',
  interaction: 'read',
  query: `/fhir/Patient/p${i}`,
  patients: [`Patient/p${i}`],
  status: 200,
});

const chain = (n: number) =>
  chainAfter(
    { seq: 0, hash: GENESIS_HASH },
    Array.from({ length: n }, (_, i) => record(i + 1)),
  );

function verify(
  rows: ReturnType<typeof chain>['rows'],
  head: { seq: number; hash: string },
  anchors: { seq: number; hash: string }[] = [],
) {
  const verifier = new ChainVerifier(
    anchors.map((a) => ({ ...a, chain: 'c', at: 'now', key: 'k', sig: 's' })),
    head,
  );
  for (const row of rows) {
    const problem = verifier.next(row);
    if (problem) return problem;
  }
  return verifier.finish();
}

describe('ChainVerifier', () => {
  it('passes an untouched chain and links batches written one after another', () => {
    const first = chain(3);
    const second = chainAfter(first.head, [record(4), record(5)]);
    expect(
      verify([...first.rows, ...second.rows], second.head, [{ seq: 3, hash: first.head.hash }]),
    ).toBeUndefined();
  });

  it('names an altered record', () => {
    const { rows, head } = chain(5);
    rows[2] = { ...rows[2], record: { ...rows[2].record, client: 'someone-else' } };
    expect(verify(rows, head)).toMatchObject({ kind: 'altered', seq: 3 });
  });

  it('names a deleted record, and a deleted tail the head row or an anchor still knows', () => {
    const { rows, head } = chain(5);
    expect(verify([...rows.slice(0, 1), ...rows.slice(3)], head)).toMatchObject({ kind: 'deleted', seq: 2 });
    expect(verify(rows.slice(0, 4), head)).toMatchObject({ kind: 'deleted', seq: 5 });
    const rewound = { seq: 4, hash: rows[3].hash };
    expect(verify(rows.slice(0, 4), rewound, [{ seq: 5, hash: head.hash }])).toMatchObject({
      kind: 'deleted',
      seq: 5,
    });
  });

  it('names an inserted record, and a re-hashed chain against its anchor', () => {
    const { rows, head } = chain(3);
    const extra = chainAfter(head, [record(9)]).rows;
    expect(verify([...rows, ...extra], head)).toMatchObject({ kind: 'inserted', seq: 4 });
    // Record 2 altered and everything after it re-hashed: consistent, but not what was anchored.
    const rewritten = chainAfter(rows[0], [{ ...record(2), status: 404 }, record(3)]);
    expect(verify([rows[0], ...rewritten.rows], rewritten.head, [{ seq: 3, hash: head.hash }])).toMatchObject(
      {
        kind: 'anchor',
        seq: 3,
      },
    );
  });
});
