import { OPERATION_DEFINITION_BASE, type FhirOperationDefinition } from '@fa/fhir';

/** DetectedIssue/<id>/$duplicate-claim-review: a reviewer confirms or dismisses a duplicate-claim finding. */
export const DUPLICATE_CLAIM_REVIEW: FhirOperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'DetectedIssue-duplicate-claim-review',
  url: `${OPERATION_DEFINITION_BASE}/DetectedIssue-duplicate-claim-review`,
  name: 'DuplicateClaimReview',
  title: "A reviewer's decision on a duplicate-claim finding",
  status: 'active',
  kind: 'operation',
  code: 'duplicate-claim-review',
  resource: ['DetectedIssue'],
  system: false,
  type: false,
  instance: true,
  affectsState: true,
  description:
    'Confirms (the claim is a duplicate: DetectedIssue.status final) or dismisses (it is not: cancelled) an open ' +
    'finding of duplicate-claim detection. The decision is an event; the finding as of any instant shows it.',
  parameter: [
    {
      name: 'resolution',
      use: 'in',
      min: 1,
      max: '1',
      type: 'code',
      documentation: 'confirmed or dismissed',
    },
    { name: 'note', use: 'in', min: 0, max: '1', type: 'string', documentation: "The reviewer's reason" },
    {
      name: 'return',
      use: 'out',
      min: 1,
      max: '1',
      type: 'DetectedIssue',
      documentation: 'The finding as decided',
    },
  ],
};
