import { OPERATION_DEFINITION_BASE, type FhirOperationDefinition } from '@fa/fhir';

/** $clinical-fact-split: a reviewer separates two resources the matcher linked as one clinical fact. */
export const CLINICAL_FACT_SPLIT: FhirOperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'clinical-fact-split',
  url: `${OPERATION_DEFINITION_BASE}/clinical-fact-split`,
  name: 'ClinicalFactSplit',
  title: 'Split a wrong clinical fact link',
  status: 'active',
  kind: 'operation',
  code: 'clinical-fact-split',
  system: true,
  type: false,
  instance: false,
  affectsState: true,
  description:
    'Records ClinicalFactsUnlinked (reviewer-split, with the X-Reviewer header as the reviewer) for two resources ' +
    'linked as one fact now; the matcher never links that pair again. 404 when they are not linked, 409 when the ' +
    'link changed meanwhile.',
  parameter: [
    {
      name: 'resource',
      use: 'in',
      min: 2,
      max: '2',
      type: 'string',
      documentation: 'The two linked resources, each as <Type>/<id>',
    },
    { name: 'note', use: 'in', min: 0, max: '1', type: 'string', documentation: 'Why the link is wrong' },
    {
      name: 'return',
      use: 'out',
      min: 1,
      max: '1',
      type: 'Parameters',
      documentation: 'linkId and the recorded event',
    },
  ],
};
