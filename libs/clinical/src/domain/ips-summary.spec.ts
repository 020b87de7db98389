import type { Composition, Resource } from 'fhir/r4';
import { deduplicate } from './clinical-record';
import { ipsDocument } from './ips-summary';

const at = new Date('2024-01-01T00:00:00Z');
const meta = (source: string, lastUpdated: string) => ({
  source: `urn:fhir-aggregator:source:${source}#x`,
  lastUpdated,
});
const condition = (id: string, source: string, extra: Record<string, unknown> = {}) =>
  ({
    resourceType: 'Condition',
    id,
    meta: meta(source, '2023-01-01T00:00:00.000Z'),
    clinicalStatus: { coding: [{ code: 'active' }] },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }], text: 'Diabetes <type 2>' },
    subject: { reference: 'Patient/p' },
    ...extra,
  }) as unknown as Resource;

describe('IPS document and de-duplication', () => {
  it('collapses linked resources into one entry (the newest speaks), naming every source', () => {
    const entries = [
      condition('a', 'hospital-a'),
      condition('b', 'clinic-b', { meta: meta('clinic-b', '2023-06-01T00:00:00.000Z') }),
    ];
    const facts = deduplicate(
      entries.map((r) => ({ resourceType: r.resourceType, id: r.id!, resource: r })),
      [{ aKey: 'Condition/a', bKey: 'Condition/b', ruleId: 'r', recordedFrom: at }],
    );
    expect(facts).toHaveLength(1);
    expect(facts[0].id).toBe('b');
    expect(facts[0].sources.map((s) => s.source)).toEqual(['hospital-a', 'clinic-b']);
  });

  it('selects current items by status and dates; required sections are there when empty', () => {
    const patient = { resourceType: 'Patient', id: 'p' } as Resource;
    const entries = deduplicate(
      [
        condition('active', 'hospital-a'),
        condition('resolved', 'hospital-a', { abatementDateTime: '2020-01-01' }),
        condition('refuted', 'hospital-a', { verificationStatus: { coding: [{ code: 'refuted' }] } }),
      ].map((r) => ({ resourceType: r.resourceType, id: r.id!, resource: r })),
      [],
    );
    const bundle = ipsDocument({ base: 'http://x/fhir', patient, entries, at });
    const composition = bundle.entry![0].resource as Composition;
    expect(composition.section!.map((s) => s.code!.coding![0].code)).toEqual([
      '11450-4',
      '48765-2',
      '10160-0',
    ]);
    expect(composition.section![0].entry).toEqual([{ reference: 'Condition/active' }]);
    expect(composition.section![0].text!.div).toContain('Diabetes &lt;type 2&gt;');
    expect(composition.section![1].emptyReason).toBeDefined();
    expect(bundle.entry!.map((e) => e.resource!.id)).toEqual([composition.id, 'p', 'active']);
  });
});
