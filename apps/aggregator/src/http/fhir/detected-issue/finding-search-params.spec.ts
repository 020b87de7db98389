import { FhirError } from '../../fhir-error';
import { detectedIssueCapability, detectedIssueSearchMode, storeSearchOf } from './finding-search-params';

describe('DetectedIssue search over findings and the store', () => {
  it('answers both for the shared parameters, findings for kind or status, the store for its own', () => {
    expect(detectedIssueSearchMode({})).toBe('both');
    expect(
      detectedIssueSearchMode({ patient: 'Patient/p', date: 'ge2020', _count: '5', _total: 'accurate' }),
    ).toBe('both');
    expect(detectedIssueSearchMode({ patient: 'Patient/p', kind: 'exact' })).toBe('findings');
    expect(detectedIssueSearchMode({ 'status:missing': 'false' })).toBe('findings');
    expect(detectedIssueSearchMode({ code: 'DUPTHPY', patient: 'Patient/p' })).toBe('store');
    expect(detectedIssueSearchMode({ _id: 'x' })).toBe('store');
  });

  it('refuses findings-only and store-only parameters together, naming the store one', () => {
    try {
      detectedIssueSearchMode({ kind: 'exact', implicated: 'Claim/c' });
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(FhirError);
      expect((error as FhirError).message).toMatch(/kind selects duplicate-claim findings and implicated/);
    }
  });

  it("asks the store for R4's names: date is DetectedIssue's identified", () => {
    const asOf = new Date('2026-01-01T00:00:00Z');
    const search = storeSearchOf({ patient: 'Patient/p', date: '2021', kind: 'exact' }, asOf);
    expect(search.filters.map((f) => f.parameter).sort()).toEqual(['identified', 'patient']);
    expect(search.asOf).toBe(asOf);
  });

  it("lists the store's parameters with the findings' kind and status added", () => {
    const entry = detectedIssueCapability({
      type: 'DetectedIssue',
      searchParam: [
        { name: 'patient', type: 'reference' },
        { name: 'code', type: 'token' },
      ],
    });
    expect(entry.searchParam!.map((p) => p.name)).toEqual(['patient', 'code', 'date', 'kind', 'status']);
    expect(entry.searchParam![0].documentation).toMatch(/findings: Patient\/<id>, golden or source/);
  });
});
