import { GOLDEN_PATIENT_KEY, referenceText, SOURCE_PATH } from './view-paths';

/** What a Coverage says, wherever it is (a resource, or contained in an EOB). */
const COVERAGE_COLUMNS = [
  { name: 'patient_id', path: 'beneficiary.getReferenceKey(Patient)', type: 'id', tag: GOLDEN_PATIENT_KEY },
  { name: 'payer', path: referenceText('payor'), type: 'string' },
  {
    name: 'plan',
    path: "(class.where(type.coding.code = 'plan').value | type.text).first()",
    type: 'string',
  },
  { name: 'status', path: 'status', type: 'code' },
] as const;

/** `coverage_period`: one row per Coverage resource. */
export const COVERAGE_PERIOD_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'coverage_period',
  title: 'Coverage periods, from Coverage',
  status: 'active',
  resource: 'Coverage',
  select: [
    {
      column: [
        { name: 'coverage_id', path: 'getResourceKey()', type: 'string' },
        { name: 'source', path: SOURCE_PATH, type: 'string' },
        ...COVERAGE_COLUMNS,
        { name: 'period_start', path: 'period.start', type: 'dateTime' },
        { name: 'period_end', path: 'period.end', type: 'dateTime' },
      ],
    },
  ],
} as const;

/**
 * `coverage_period_eob`: Coverage contained in an ExplanationOfBenefit (as Synthea sends it), over the EOB's
 * billable period: the payer covered the patient then. Unioned with coverage_period by the coverage query.
 */
export const EOB_COVERAGE_PERIOD_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'coverage_period_eob',
  title: 'Coverage periods, from Coverage contained in ExplanationOfBenefit',
  status: 'active',
  resource: 'ExplanationOfBenefit',
  select: [
    {
      column: [
        { name: 'eob_id', path: 'getResourceKey()', type: 'id' },
        { name: 'source', path: SOURCE_PATH, type: 'string' },
        { name: 'period_start', path: 'billablePeriod.start', type: 'dateTime' },
        { name: 'period_end', path: 'billablePeriod.end', type: 'dateTime' },
      ],
    },
    {
      forEach: 'contained.ofType(Coverage)',
      column: [{ name: 'contained_id', path: 'id', type: 'string' }, ...COVERAGE_COLUMNS],
    },
  ],
} as const;
