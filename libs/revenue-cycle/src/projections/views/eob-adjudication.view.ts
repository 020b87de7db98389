import {
  ALLOWED,
  GOLDEN_PATIENT_KEY,
  PAID,
  PATIENT_RESPONSIBILITY,
  SOURCE_PATH,
  SUBMITTED,
} from './view-paths';

/**
 * One row per adjudicated line, the same columns for ExplanationOfBenefit and ClaimResponse: only where the
 * claim reference and the line's sequence are differ.
 */
const adjudicationView = (
  name: string,
  title: string,
  resource: 'ExplanationOfBenefit' | 'ClaimResponse',
  claimPath: string,
  sequencePath: string,
) =>
  ({
    resourceType: 'ViewDefinition',
    name,
    title,
    status: 'active',
    resource,
    select: [
      {
        column: [
          { name: 'adjudication_id', path: 'getResourceKey()', type: 'id' },
          { name: 'claim_id', path: `${claimPath}.getReferenceKey(Claim)`, type: 'id' },
          { name: 'source', path: SOURCE_PATH, type: 'string' },
          {
            name: 'patient_id',
            path: 'patient.getReferenceKey(Patient)',
            type: 'id',
            tag: GOLDEN_PATIENT_KEY,
          },
          { name: 'outcome', path: 'outcome', type: 'code' },
        ],
      },
      {
        forEach: 'item',
        column: [
          { name: 'sequence', path: sequencePath, type: 'positiveInt' },
          { name: 'submitted', path: `${SUBMITTED}.first()`, type: 'decimal' },
          { name: 'allowed', path: `${ALLOWED}.first()`, type: 'decimal' },
          { name: 'paid', path: `${PAID}.first()`, type: 'decimal' },
          { name: 'patient_responsibility', path: `${PATIENT_RESPONSIBILITY}.sum()`, type: 'decimal' },
          { name: 'reasons', path: "adjudication.reason.coding.code.join(',')", type: 'string' },
          {
            name: 'denied',
            path: "adjudication.where(category.coding.code = 'denied').exists()",
            type: 'boolean',
          },
        ],
      },
    ],
  }) as const;

/** `eob_adjudication`: one row per ExplanationOfBenefit.item, linked to its claim by EOB.claim. */
export const EOB_ADJUDICATION_VIEW = adjudicationView(
  'eob_adjudication',
  'Adjudication per line, from ExplanationOfBenefit',
  'ExplanationOfBenefit',
  'claim',
  'sequence',
);

/** `claim_response_adjudication`: the same per ClaimResponse.item, linked to its claim by ClaimResponse.request. */
export const CLAIM_RESPONSE_ADJUDICATION_VIEW = adjudicationView(
  'claim_response_adjudication',
  'Adjudication per line, from ClaimResponse',
  'ClaimResponse',
  'request',
  'itemSequence',
);
