import { compileView } from './compile-view';
import { GOLDEN_PATIENT_TAG, goldenPatientColumn, materializedViewName } from './materialized-view';
import { ViewDefinitionError } from './view-definition.error';

const view = (columns: unknown[], name = 'claim') =>
  compileView({ resourceType: 'ViewDefinition', name, resource: 'Claim', select: [{ column: columns }] });
const patient = (tag?: unknown) => ({
  name: 'patient_id',
  path: 'patient.getReferenceKey(Patient)',
  ...(tag === undefined ? {} : { tag }),
});

describe('materialized views', () => {
  it("takes the golden patient column from the patient key's golden-patient tag", () => {
    const v = view([
      { name: 'claim_id', path: 'getResourceKey()' },
      patient([{ name: GOLDEN_PATIENT_TAG, value: 'golden_patient_id' }]),
    ]);
    expect(materializedViewName(v)).toBe('claim');
    expect(goldenPatientColumn(v)).toEqual({
      patientColumn: 'patient_id',
      goldenColumn: 'golden_patient_id',
    });
    expect(goldenPatientColumn(view([patient([{ name: 'ansi/type', value: 'CHAR(64)' }])]))).toBeUndefined();
  });

  it('refuses a golden column that clashes, is not a SQL name, sits on a collection, or is given twice', () => {
    const refused = (columns: unknown[]) => {
      try {
        materializedViewName(view(columns));
        return undefined;
      } catch (error) {
        expect(error).toBeInstanceOf(ViewDefinitionError);
        return (error as ViewDefinitionError).message;
      }
    };
    const tag = (value: string) => [{ name: GOLDEN_PATIENT_TAG, value }];
    expect(refused([patient(tag('patient_id'))])).toMatch(/golden-patient tag/);
    expect(refused([patient(tag('recorded_to'))])).toMatch(/golden-patient tag/);
    expect(refused([patient(tag('Golden'))])).toMatch(/golden-patient tag/);
    expect(
      refused([{ ...patient(tag('g')), path: 'careTeam.provider.getReferenceKey()', collection: true }]),
    ).toMatch(/golden-patient tag/);
    expect(
      refused([patient(tag('g1')), { name: 'other', path: 'enterer.getReferenceKey()', tag: tag('g2') }]),
    ).toMatch(/at most one column/);
    expect(refused([patient([{ name: GOLDEN_PATIENT_TAG }])])).toMatch(/string name and a string value/);
  });

  it('keeps _history free for the ranged rows function', () => {
    expect(() => materializedViewName(view([patient()], 'claim_history'))).toThrow(/_history/);
  });
});
