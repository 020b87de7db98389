import { OPERATION_DEFINITION_BASE, type FhirOperationDefinition } from '@fa/fhir';

/**
 * ViewDefinition/$viewdefinition-run: SQL on FHIR v2's operation (its current name; `$run` before), over the
 * FHIR store as of any instant. A ViewDefinition is not an R4 resource type, so viewResource is typed Resource.
 */
export const VIEW_DEFINITION_RUN: FhirOperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'ViewDefinition-run',
  url: `${OPERATION_DEFINITION_BASE}/ViewDefinition-run`,
  base: 'http://sql-on-fhir.org/OperationDefinition/$viewdefinition-run',
  name: 'ViewDefinitionRun',
  title: 'Run a SQL on FHIR v2 ViewDefinition, now or as of any instant',
  status: 'active',
  kind: 'operation',
  code: 'viewdefinition-run',
  resource: ['ViewDefinition' as never],
  system: false,
  type: true,
  instance: false,
  affectsState: false,
  description:
    'Evaluates the ViewDefinition given in viewResource over the stored resources of its type and streams the ' +
    'rows in the requested format. With _asOf, the rows as the store knew them at that instant; with patient, only ' +
    "that patient's compartment.",
  parameter: [
    {
      name: 'viewResource',
      use: 'in',
      min: 1,
      max: '1',
      type: 'Resource',
      documentation: 'The ViewDefinition to run (SQL on FHIR v2)',
    },
    {
      name: '_format',
      use: 'in',
      min: 0,
      max: '1',
      type: 'code',
      documentation:
        'json (default), ndjson or csv; the media types application/json, application/x-ndjson, text/csv',
    },
    {
      name: 'header',
      use: 'in',
      min: 0,
      max: '1',
      type: 'boolean',
      documentation: 'csv only: write the header row (default true)',
    },
    {
      name: 'patient',
      use: 'in',
      min: 0,
      max: '1',
      type: 'Reference',
      documentation: 'Only resources in the compartment of this patient (Patient/<id>)',
    },
    {
      name: '_limit',
      use: 'in',
      min: 0,
      max: '1',
      type: 'positiveInt',
      documentation: 'At most this many rows',
    },
    {
      name: '_asOf',
      use: 'in',
      min: 0,
      max: '1',
      type: 'dateTime',
      documentation:
        'Rows as of this record-time instant; a date or partial dateTime means the end of that period',
    },
    {
      name: 'return',
      use: 'out',
      min: 1,
      max: '1',
      type: 'Binary',
      documentation: 'The rows, streamed in the requested format',
    },
  ],
};
