import type { OperationDefinitionParameter } from 'fhir/r4';
import { OPERATION_DEFINITION_BASE, type FhirOperationDefinition } from '@fa/fhir';
import { AS_OF_PARAMETER } from './patient-everything.operation';

/** HL7 Bulk Data Access IG (STU2) canonical base of its OperationDefinitions and CapabilityStatement. */
export const BULK_DATA_BASE = 'http://hl7.org/fhir/uv/bulkdata';

const input = (
  name: string,
  type: OperationDefinitionParameter['type'],
  max: '1' | '*',
  documentation: string,
): OperationDefinitionParameter => ({ name, use: 'in', min: 0, max, type, documentation });

const COMMON: OperationDefinitionParameter[] = [
  input(
    '_outputFormat',
    'string',
    '1',
    'application/fhir+ndjson (default), or its short forms application/ndjson and ndjson',
  ),
  input('_since', 'instant', '1', 'Only resources whose current version was recorded after this instant'),
  input('_until', 'instant', '1', 'The resources as they were at this instant, when it is before the export'),
  input(
    '_type',
    'string',
    '*',
    'Comma-separated resource types to export (default: every type the token may read)',
  ),
  input('_elements', 'string', '*', 'Top-level elements to keep (resources are tagged SUBSETTED)'),
  input(
    '_typeFilter',
    'string',
    '*',
    '<Type>?<search query>: any search this server supports; several for one type are OR-ed; one it cannot run is an error, never ignored',
  ),
  input(
    'includeAssociatedData',
    'code',
    '*',
    'LatestProvenanceResources: the lineage Provenance of each exported resource version',
  ),
  {
    ...AS_OF_PARAMETER,
    documentation: 'Export the data as the store knew it at this record-time instant (ours)',
  },
  {
    name: 'return',
    use: 'out',
    min: 0,
    max: '1',
    type: 'Binary',
    documentation: '202 Accepted with Content-Location: the status URL; the manifest once complete',
  },
];

const PATIENT: OperationDefinitionParameter = input(
  'patient',
  'Reference',
  '*',
  'Only these patients (Patient/<id>); POST with a Parameters body',
);

/** STU3's organizeOutputBy: Patient only (Patient and Group level). */
const ORGANIZE_OUTPUT_BY: OperationDefinitionParameter = input(
  'organizeOutputBy',
  'string',
  '1',
  'Patient: files of resource blocks, each a header Parameters naming a patient, then the patient and the resources of its compartment (STU3)',
);

const shared = {
  resourceType: 'OperationDefinition' as const,
  status: 'active' as const,
  kind: 'operation' as const,
  code: 'export',
  affectsState: false,
};

/** [base]/$export: every type (the token may read), as of one log position. */
export const SYSTEM_EXPORT: FhirOperationDefinition = {
  ...shared,
  id: 'export',
  url: `${OPERATION_DEFINITION_BASE}/export`,
  base: `${BULK_DATA_BASE}/OperationDefinition/export`,
  name: 'Export',
  title: 'Bulk Data export of the whole store, now or as of any instant',
  system: true,
  type: false,
  instance: false,
  description:
    'FHIR Bulk Data (STU2) system-level export: NDJSON files, one type per file, of every resource current at the ' +
    "export's log position (transactionTime), within the token's scopes.",
  parameter: COMMON,
};

/** [base]/Patient/$export: the Patient compartments of every patient (or of `patient`). */
export const PATIENT_EXPORT: FhirOperationDefinition = {
  ...shared,
  id: 'patient-export',
  url: `${OPERATION_DEFINITION_BASE}/patient-export`,
  base: `${BULK_DATA_BASE}/OperationDefinition/patient-export`,
  name: 'PatientExport',
  title: 'Bulk Data export of every patient and its compartment',
  resource: ['Patient'],
  system: false,
  type: true,
  instance: false,
  description:
    'FHIR Bulk Data (STU2) Patient-level export: each Patient and the resources of its R4 compartment.',
  parameter: [...COMMON, PATIENT, ORGANIZE_OUTPUT_BY],
};

/** [base]/Group/<id>/$export: the compartments of the Group's members as of the export's position. */
export const GROUP_EXPORT: FhirOperationDefinition = {
  ...shared,
  id: 'group-export',
  url: `${OPERATION_DEFINITION_BASE}/group-export`,
  base: `${BULK_DATA_BASE}/OperationDefinition/group-export`,
  name: 'GroupExport',
  title: "Bulk Data export of a Group's members and their compartments",
  resource: ['Group'],
  system: false,
  type: false,
  instance: true,
  description:
    'FHIR Bulk Data (STU2) Group-level export: the members of the Group as it was at the export position (a golden ' +
    'patient stands for its linked source patients), and the resources of their R4 Patient compartments.',
  parameter: [...COMMON, PATIENT, ORGANIZE_OUTPUT_BY],
};
