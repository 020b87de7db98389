import { OPERATION_DEFINITION_BASE, type FhirOperationDefinition } from '@fa/fhir';
import { AS_OF_PARAMETER } from './patient-everything.operation';

/** Patient/<id>/$summary: the IPS operation, of a source or golden patient, de-duplicated, as of any instant. */
export const PATIENT_SUMMARY: FhirOperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Patient-summary',
  url: `${OPERATION_DEFINITION_BASE}/Patient-summary`,
  base: 'http://hl7.org/fhir/uv/ips/OperationDefinition/summary',
  name: 'PatientSummary',
  title: 'International Patient Summary of a patient, now or as of any instant',
  status: 'active',
  kind: 'operation',
  code: 'summary',
  resource: ['Patient'],
  system: false,
  type: false,
  instance: true,
  affectsState: false,
  description:
    'An IPS document Bundle: the Composition first (problems 11450-4, allergies 48765-2, medications 10160-0 ' +
    'always; immunizations 11369-6, results 30954-2, vital signs 8716-3, procedures 47519-4 when they have items), ' +
    'the Patient, then the current items chosen by each resource status and dates, one per clinical fact across ' +
    'sources, each naming its source resources (clinical-fact-source extension). For a source or golden patient.',
  parameter: [
    AS_OF_PARAMETER,
    {
      name: 'return',
      use: 'out',
      min: 1,
      max: '1',
      type: 'Bundle',
      documentation: 'A document Bundle (IPS)',
    },
  ],
};
