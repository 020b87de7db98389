import { GOLDEN_PATIENT_KEY, referenceText, SOURCE_PATH } from './view-paths';

/** `claim`: one row per Claim (header). Keys are our ids; golden patients come from Patient Identity. */
export const CLAIM_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'claim',
  title: 'Claim headers',
  status: 'active',
  resource: 'Claim',
  select: [
    {
      column: [
        { name: 'claim_id', path: 'getResourceKey()', type: 'id' },
        { name: 'source', path: SOURCE_PATH, type: 'string' },
        { name: 'patient_id', path: 'patient.getReferenceKey(Patient)', type: 'id', tag: GOLDEN_PATIENT_KEY },
        { name: 'provider', path: referenceText('provider'), type: 'string' },
        { name: 'facility', path: referenceText('facility'), type: 'string' },
        { name: 'type', path: 'type.coding.code.first()', type: 'code' },
        { name: 'use', path: 'use', type: 'code' },
        { name: 'status', path: 'status', type: 'code' },
        { name: 'billable_start', path: 'billablePeriod.start', type: 'dateTime' },
        { name: 'billable_end', path: 'billablePeriod.end', type: 'dateTime' },
        { name: 'created', path: 'created', type: 'dateTime' },
        { name: 'insurer', path: referenceText('insurer'), type: 'string' },
        {
          name: 'coverage',
          path: 'insurance.where(focal = true).coverage.select(iif(reference.exists(), reference, display)).first()',
          type: 'string',
        },
        { name: 'total', path: 'total.value', type: 'decimal' },
        { name: 'related_claim_id', path: 'related.claim.getReferenceKey(Claim).first()', type: 'id' },
        { name: 'related_relationship', path: 'related.relationship.coding.code.first()', type: 'code' },
      ],
    },
  ],
} as const;
