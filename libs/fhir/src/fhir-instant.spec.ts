import { parseFhirDateRange } from './fhir-instant';

describe('parseFhirDateRange', () => {
  it.each([
    ['2024', '2024-01-01T00:00:00.000Z', '2024-12-31T23:59:59.999Z'],
    ['2024-02', '2024-02-01T00:00:00.000Z', '2024-02-29T23:59:59.999Z'],
    ['2023-12-31', '2023-12-31T00:00:00.000Z', '2023-12-31T23:59:59.999Z'],
    ['2024-03-01T10:00:00Z', '2024-03-01T10:00:00.000Z', '2024-03-01T10:00:00.999Z'],
    ['2024-03-01T10:00:00.123+02:00', '2024-03-01T08:00:00.123Z', '2024-03-01T08:00:00.123Z'],
    ['2024-03-01T10:00Z', '2024-03-01T10:00:00.000Z', '2024-03-01T10:00:59.999Z'],
  ])('%s covers [%s, %s]', (value, start, end) => {
    const range = parseFhirDateRange(value)!;
    expect(range.start.toISOString()).toBe(start);
    expect(range.end.toISOString()).toBe(end);
  });

  it.each([
    '',
    'yesterday',
    '2024-13',
    '2023-02-29',
    '2024-03-01T10:00:00',
    '2024-03-01T25:00:00Z',
    '20240301',
    "2024' OR 1=1",
  ])('rejects %j', (value) => expect(parseFhirDateRange(value)).toBeUndefined());
});
