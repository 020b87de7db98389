import type { OperationDefinitionParameter } from 'fhir/r4';
import { OPERATION_DEFINITION_BASE, type FhirOperationDefinition } from '@fa/fhir';

/** `_asOf` of a patient operation: the record-time instant answered as of. */
export const AS_OF_PARAMETER: OperationDefinitionParameter = {
  name: '_asOf',
  use: 'in',
  min: 0,
  max: '1',
  type: 'dateTime',
  documentation:
    'Answer as of this record-time instant; a date or partial dateTime means the end of that period',
};

/** Patient/<id>/$everything: HL7's operation, answerable as of any instant. */
export const PATIENT_EVERYTHING: FhirOperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Patient-everything',
  url: `${OPERATION_DEFINITION_BASE}/Patient-everything`,
  base: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
  name: 'PatientEverything',
  title: 'Everything about a patient, now or as of any instant',
  status: 'active',
  kind: 'operation',
  code: 'everything',
  resource: ['Patient'],
  system: false,
  type: false,
  instance: true,
  affectsState: false,
  description:
    'The patient, every resource in its R4 Patient compartment, and the Practitioner, Organization, Location and ' +
    'Medication resources those refer to (conditional references resolved within the same source). For a golden ' +
    'patient, the union over every source patient linked to it at the instant. Patient first, then by type and id.',
  parameter: [
    {
      name: '_since',
      use: 'in',
      min: 0,
      max: '1',
      type: 'instant',
      documentation: 'Only resources recorded at or after this instant',
    },
    {
      name: '_type',
      use: 'in',
      min: 0,
      max: '1',
      type: 'string',
      documentation: 'Comma-separated resource types to include',
    },
    {
      name: '_count',
      use: 'in',
      min: 0,
      max: '1',
      type: 'unsignedInt',
      documentation: 'Page size (100, at most 1000)',
    },
    {
      name: '_offset',
      use: 'in',
      min: 0,
      max: '1',
      type: 'unsignedInt',
      documentation: 'Paging offset (from next links)',
    },
    AS_OF_PARAMETER,
    {
      name: 'dedup',
      use: 'in',
      min: 0,
      max: '1',
      type: 'boolean',
      documentation:
        'true: one entry per clinical fact across sources (resources the Clinical context linked as the same fact ' +
        'collapse into one, which names every source resource in the clinical-fact-source extension, with a ' +
        'Provenance entry per such fact); false (default): the complete union',
    },
    {
      name: 'return',
      use: 'out',
      min: 1,
      max: '1',
      type: 'Bundle',
      documentation: 'A searchset Bundle, paged',
    },
  ],
};
