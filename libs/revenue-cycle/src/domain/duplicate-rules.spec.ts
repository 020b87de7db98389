import type { Claim } from 'fhir/r4';
import { claimFingerprint, type ClaimFingerprint } from './claim-fingerprint';
import { compareClaims } from './duplicate-rules';

const claim = (id: string, changes: Partial<Claim> = {}): ClaimFingerprint =>
  claimFingerprint(id, {
    resourceType: 'Claim',
    id,
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { reference: 'Patient/p1' },
    created: '2024-03-01',
    provider: { reference: 'Organization/o1' },
    priority: { coding: [{ code: 'normal' }] },
    insurance: [{ sequence: 1, focal: true, coverage: { display: 'Payer' } }],
    billablePeriod: { start: '2024-03-01T09:00:00Z', end: '2024-03-01T10:00:00Z' },
    item: [
      {
        sequence: 1,
        productOrService: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '99213' }] },
        net: { value: 120 },
      },
      {
        sequence: 2,
        productOrService: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '36415' }] },
        net: { value: 15 },
      },
    ],
    total: { value: 135 },
    ...changes,
  } as Claim)!;

const modified = (codes: string[], quantity?: number) => ({
  sequence: 1,
  productOrService: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '99213' }] },
  modifier: codes.map((code) => ({ coding: [{ code }] })),
  ...(quantity ? { quantity: { value: quantity } } : {}),
  net: { value: 120 },
});

describe('duplicate-claim rules', () => {
  it('exact (professional): same patient, provider, dates, codes with modifiers and billed amount', () => {
    expect(compareClaims(claim('a'), claim('b'))).toEqual({
      kind: 'exact',
      rule: 'exact-professional',
      matchedFields: ['patient', 'provider', 'from', 'through', 'lines', 'billed'],
    });
  });

  it('exact (institutional) also needs the same type of bill', () => {
    const institutional = (id: string, bill: string) =>
      claim(id, {
        type: { coding: [{ code: 'institutional' }] },
        supportingInfo: [
          { sequence: 1, category: { coding: [{ code: 'typeofbill' }] }, code: { coding: [{ code: bill }] } },
        ],
      });
    expect(compareClaims(institutional('a', '0131'), institutional('b', '0131'))?.rule).toBe(
      'exact-institutional',
    );
    // Another type of bill is not the same bill, but the same service on the same day is still suspect.
    expect(compareClaims(institutional('a', '0131'), institutional('b', '0137'))?.kind).toBe('suspect');
  });

  it('suspect: same provider, overlapping dates, a service in common, another amount', () => {
    const b = claim('b', {
      total: { value: 150 },
      billablePeriod: { start: '2024-03-01T09:30:00Z', end: '2024-03-02T08:00:00Z' },
    });
    expect(compareClaims(claim('a'), b)).toEqual({
      kind: 'suspect',
      rule: 'suspect-same-provider-overlap',
      matchedFields: [
        'patient',
        'provider',
        'dates-overlap',
        'procedure:http://www.ama-assn.org/go/cpt|36415',
        'procedure:http://www.ama-assn.org/go/cpt|99213',
      ],
    });
  });

  it('suspect: the same day and service from another provider', () => {
    const b = claim('b', { provider: { reference: 'Organization/o2' } });
    expect(compareClaims(claim('a'), b)?.rule).toBe('suspect-other-provider-same-day');
    const nextDay = claim('c', {
      provider: { reference: 'Organization/o2' },
      billablePeriod: { start: '2024-03-02T09:00:00Z', end: '2024-03-02T10:00:00Z' },
    });
    expect(compareClaims(claim('a'), nextDay)).toBeUndefined();
  });

  it('not duplicates: adjustments and replacements either way, cancelled claims, the same claim', () => {
    for (const code of ['prior', 'replaces']) {
      const b = claim('b', {
        related: [{ claim: { reference: 'Claim/a' }, relationship: { coding: [{ code }] } }],
      });
      expect(compareClaims(claim('a'), b)).toBeUndefined();
      expect(compareClaims(b, claim('a'))).toBeUndefined();
    }
    expect(compareClaims(claim('a'), claim('b', { status: 'cancelled' }))).toBeUndefined();
    expect(compareClaims(claim('a', { status: 'entered-in-error' }), claim('b'))).toBeUndefined();
    expect(compareClaims(claim('a'), claim('a'))).toBeUndefined();
  });

  it.each([['59'], ['76'], ['77'], ['91'], ['XE'], ['XS'], ['XP'], ['XU']])(
    'not duplicates: a repeat justified by modifier %s',
    (code) => {
      const a = claim('a', { item: [modified([])], total: { value: 120 } });
      const b = claim('b', { item: [modified([code])], total: { value: 120 } });
      expect(compareClaims(a, b)).toBeUndefined();
    },
  );

  it('not duplicates: left and right, or other units; the same modifiers twice are', () => {
    const one = (id: string, codes: string[], quantity?: number) =>
      claim(id, { item: [modified(codes, quantity)], total: { value: 120 } });
    expect(compareClaims(one('a', ['RT']), one('b', ['LT']))).toBeUndefined();
    expect(compareClaims(one('a', []), one('b', [], 2))).toBeUndefined();
    expect(compareClaims(one('a', ['RT']), one('b', ['RT']))?.kind).toBe('exact');
  });

  it('service dates come from the lines when the claim has no billable period', () => {
    const a = claim('a', {
      billablePeriod: undefined,
      item: [{ ...modified([]), servicedDate: '2024-05-02' }],
      total: { value: 120 },
    });
    expect(a).toMatchObject({ from: '2024-05-02', through: '2024-05-02', billed: 120 });
    expect(claimFingerprint('x', { resourceType: 'Claim' } as Claim)).toBeUndefined();
  });
});
