import { FhirDecimal } from '@fa/fhir';
import { compileView } from './compile-view';
import { ViewDefinitionError, ViewEvaluationError } from './view-definition.error';

const column = (name: unknown, path: unknown = 'id') => ({ name, path });

function errorOf(definition: unknown): { element: string; problem: string } {
  try {
    compileView(definition);
  } catch (error) {
    if (error instanceof ViewDefinitionError) return { element: error.element, problem: error.problem };
    throw error;
  }
  throw new Error('compiled without an error');
}

describe('compileView validation', () => {
  it.each([
    [
      'an unknown resource type',
      { resource: 'Patientt', select: [{ column: [column('id')] }] },
      'resource',
      /Patientt/,
    ],
    ['a missing resource', { select: [{ column: [column('id')] }] }, 'resource', /required/],
    ['no select', { resource: 'Patient' }, 'select', /required/],
    [
      'FHIRPath that does not parse',
      { resource: 'Patient', select: [{ column: [column('id')] }, { forEach: 'name.(' }] },
      'select[1].forEach',
      /does not parse/,
    ],
    [
      'a column without a name',
      { resource: 'Patient', select: [{ column: [column('id'), { path: 'gender' }] }] },
      'select[0].column[1].name',
      /required/,
    ],
    [
      'a column name that is not a SQL name',
      { resource: 'Patient', select: [{ column: [column('first name')] }] },
      'select[0].column[0].name',
      /letters/,
    ],
    [
      'duplicate column names',
      { resource: 'Patient', select: [{ column: [column('id')] }, { column: [column('id')] }] },
      'select',
      /duplicate column name\(s\): id/,
    ],
    [
      'collection that is not a boolean',
      { resource: 'Patient', select: [{ column: [{ name: 'n', path: 'name', collection: 'yes' }] }] },
      'select[0].column[0].collection',
      /true or false/,
    ],
    [
      'a forEach that is not an expression',
      { resource: 'Patient', select: [{ forEach: 1, column: [column('id')] }] },
      'select[0].forEach',
      /FHIRPath expression/,
    ],
    [
      'forEach and forEachOrNull together',
      { resource: 'Patient', select: [{ forEach: 'name', forEachOrNull: 'name', column: [column('id')] }] },
      'select[0]',
      /only one of forEach, forEachOrNull/,
    ],
    [
      'an undefined constant',
      {
        resource: 'Patient',
        select: [{ column: [column('x', "name.where(use = %nope and text = '%no')")] }],
      },
      'select[0].column[0].path',
      /%nope is not a constant/,
    ],
    [
      'a constant without a value',
      { resource: 'Patient', constant: [{ name: 'c' }], select: [{ column: [column('id')] }] },
      'constant[0]',
      /exactly one value\[x\]/,
    ],
    [
      'a constant of the wrong type',
      {
        resource: 'Patient',
        constant: [{ name: 'd', valueDate: 'tomorrow' }],
        select: [{ column: [column('id')] }],
      },
      'constant[0].valueDate',
      /date/,
    ],
    [
      'unionAll branches with different columns',
      { resource: 'Patient', select: [{ unionAll: [{ column: [column('a')] }, { column: [column('b')] }] }] },
      'select[0].unionAll[1]',
      /same columns/,
    ],
    [
      'a misspelt element',
      { resource: 'Patient', select: [{ colum: [column('id')] }] },
      'select[0].colum',
      /not an element/,
    ],
  ])('rejects %s, naming the element', (_what, definition, element, problem) => {
    const error = errorOf(definition);
    expect(error.element).toBe(element);
    expect(error.problem).toMatch(problem);
  });
});

describe('compileView evaluation', () => {
  const patient = {
    resourceType: 'Patient',
    id: 'p1',
    name: [{ family: 'A', given: ['x', 'y'] }, { family: 'B' }],
    managingOrganization: { reference: 'Organization/o1' },
  };

  it('lists columns in output order and runs forEach with keys', () => {
    const view = compileView({
      resource: 'Patient',
      select: [
        { column: [{ name: 'id', path: 'getResourceKey()' }] },
        { column: [{ name: 'org', path: 'managingOrganization.getReferenceKey(Organization)' }] },
        {
          forEach: 'name',
          column: [
            { name: 'family', path: 'family' },
            { name: 'i', path: '%rowIndex' },
          ],
        },
      ],
    });
    expect(view.columns.map((c) => c.name)).toEqual(['id', 'org', 'family', 'i']);
    expect(view.rows(patient)).toEqual([
      { id: 'p1', org: 'o1', family: 'A', i: 0 },
      { id: 'p1', org: 'o1', family: 'B', i: 1 },
    ]);
    expect(view.rows({ resourceType: 'Observation', id: 'o' })).toEqual([]);
  });

  it('fails on a resource where a non-collection column has several values, naming column and resource', () => {
    const view = compileView({
      resource: 'Patient',
      select: [{ column: [{ name: 'f', path: 'name.family' }] }],
    });
    expect(() => view.rows(patient)).toThrow(ViewEvaluationError);
    expect(() => view.rows(patient)).toThrow('select[0].column[0].path on Patient/p1');
  });

  it('evaluates decimals kept as written (FhirDecimal) as their numbers, leaving the stored resource alone', () => {
    const view = compileView({
      resource: 'Observation',
      select: [
        {
          column: [
            { name: 'value', path: 'value.ofType(Quantity).value' },
            { name: 'above_one', path: 'value.ofType(Quantity).value > 1' },
          ],
        },
      ],
    });
    const stored = {
      resourceType: 'Observation',
      id: 'o1',
      valueQuantity: { value: new FhirDecimal('1.50') },
    };
    expect(view.rows(stored)).toEqual([{ value: 1.5, above_one: true }]);
    expect(stored.valueQuantity.value).toBeInstanceOf(FhirDecimal);
  });
});
