import { ALLOWED, PAID, PATIENT_RESPONSIBILITY, SOURCE_PATH, SUBMITTED } from './view-paths';

/** Adjudication columns of a line, the same for ExplanationOfBenefit and ClaimResponse. */
const lineAmounts = [
  { name: 'submitted', path: `${SUBMITTED}.first()`, type: 'decimal' },
  { name: 'allowed', path: `${ALLOWED}.first()`, type: 'decimal' },
  { name: 'paid', path: `${PAID}.first()`, type: 'decimal' },
  { name: 'patient_responsibility', path: `${PATIENT_RESPONSIBILITY}.sum()`, type: 'decimal' },
  { name: 'reasons', path: "adjudication.reason.coding.code.join(',')", type: 'string' },
  { name: 'denied', path: "adjudication.where(category.coding.code = 'denied').exists()", type: 'boolean' },
];

/** `eob_adjudication`: one row per ExplanationOfBenefit.item, linked to its claim by EOB.claim. */
export const EOB_ADJUDICATION_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'eob_adjudication',
  title: 'Adjudication per line, from ExplanationOfBenefit',
  status: 'active',
  resource: 'ExplanationOfBenefit',
  select: [
    {
      column: [
        { name: 'adjudication_id', path: 'getResourceKey()', type: 'id' },
        { name: 'claim_id', path: 'claim.getReferenceKey(Claim)', type: 'id' },
        { name: 'source', path: SOURCE_PATH, type: 'string' },
        { name: 'patient_id', path: 'patient.getReferenceKey(Patient)', type: 'id' },
        { name: 'outcome', path: 'outcome', type: 'code' },
      ],
    },
    {
      forEach: 'item',
      column: [{ name: 'sequence', path: 'sequence', type: 'positiveInt' }, ...lineAmounts],
    },
  ],
} as const;

/** `claim_response_adjudication`: the same per ClaimResponse.item, linked to its claim by ClaimResponse.request. */
export const CLAIM_RESPONSE_ADJUDICATION_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'claim_response_adjudication',
  title: 'Adjudication per line, from ClaimResponse',
  status: 'active',
  resource: 'ClaimResponse',
  select: [
    {
      column: [
        { name: 'adjudication_id', path: 'getResourceKey()', type: 'id' },
        { name: 'claim_id', path: 'request.getReferenceKey(Claim)', type: 'id' },
        { name: 'source', path: SOURCE_PATH, type: 'string' },
        { name: 'patient_id', path: 'patient.getReferenceKey(Patient)', type: 'id' },
        { name: 'outcome', path: 'outcome', type: 'code' },
      ],
    },
    {
      forEach: 'item',
      column: [{ name: 'sequence', path: 'itemSequence', type: 'positiveInt' }, ...lineAmounts],
    },
  ],
} as const;
