import { kickOffUrl } from './export-job';

describe('kickOffUrl', () => {
  it('system level with _type and _since; a Group export under Group/<id>; bases with or without a slash', () => {
    expect(
      kickOffUrl('https://ehr.example/fhir', {
        types: ['Patient', 'Claim'],
        since: '2026-01-01T00:00:00.000Z',
      }),
    ).toBe(
      'https://ehr.example/fhir/$export?_outputFormat=application%2Ffhir%2Bndjson&_type=Patient%2CClaim&_since=2026-01-01T00%3A00%3A00.000Z',
    );
    expect(kickOffUrl('https://ehr.example/r4/', { group: 'high risk' })).toBe(
      'https://ehr.example/r4/Group/high%20risk/$export?_outputFormat=application%2Ffhir%2Bndjson',
    );
  });
});
