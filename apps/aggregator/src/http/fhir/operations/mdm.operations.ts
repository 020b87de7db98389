import type { OperationDefinitionParameter } from 'fhir/r4';
import { OPERATION_DEFINITION_BASE, type FhirOperationDefinition } from '@fa/fhir';

/**
 * Patient identity (MDM) operations, named and shaped as HAPI FHIR's MDM users know them. System level: the
 * golden and source patients are parameters.
 */
const mdm = (
  code: string,
  title: string,
  affectsState: boolean,
  description: string,
  parameter: FhirOperationDefinition['parameter'],
): FhirOperationDefinition => ({
  resourceType: 'OperationDefinition',
  id: code,
  url: `${OPERATION_DEFINITION_BASE}/${code}`,
  name: code.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase()),
  title,
  status: 'active',
  kind: 'operation',
  code,
  system: true,
  type: false,
  instance: false,
  affectsState,
  description,
  parameter,
});

const patient = (name: string, min: number, documentation: string): OperationDefinitionParameter => ({
  name,
  use: 'in',
  min,
  max: '1',
  type: 'string',
  documentation: `${documentation} (Patient/<id> or <id>)`,
});

const parametersOut = (documentation: string): OperationDefinitionParameter => ({
  name: 'return',
  use: 'out',
  min: 1,
  max: '1',
  type: 'Parameters',
  documentation,
});

export const MDM_QUERY_LINKS = mdm(
  'mdm-query-links',
  'Identity links, now or as of any instant',
  false,
  'Each link between a golden patient and a source patient, with its score, weight, the per-field comparison levels and weights behind it, the blocking keys that made the record a candidate and the model version (content hash) that decided it. Paged as HAPI FHIR MDM pages: _offset and _count, with self, prev and next links (valueUri).',
  [
    patient('goldenResourceId', 0, 'Only links of this golden patient'),
    patient('resourceId', 0, 'Only links of this source patient'),
    {
      name: 'matchResult',
      use: 'in',
      min: 0,
      max: '1',
      type: 'code',
      documentation: 'MATCH or POSSIBLE_MATCH',
    },
    {
      name: '_asOf',
      use: 'in',
      min: 0,
      max: '1',
      type: 'dateTime',
      documentation: 'Links as of this instant',
    },
    {
      name: '_count',
      use: 'in',
      min: 0,
      max: '1',
      type: 'unsignedInt',
      documentation: 'At most this many links per page (default 50, at most 1000)',
    },
    {
      name: '_offset',
      use: 'in',
      min: 0,
      max: '1',
      type: 'unsignedInt',
      documentation:
        'Skip this many links (in golden patient, source patient order); the next link gives the following page',
    },
    parametersOut('One `link` parameter per link'),
  ],
);

export const MDM_LINK_HISTORY = mdm(
  'mdm-link-history',
  'Identity decision history',
  false,
  'Every identity decision (links, unlinks, merges, reviews) about a golden and/or a source patient, oldest first, with who decided.',
  [
    patient('goldenResourceId', 0, 'Decisions about this golden patient'),
    patient('resourceId', 0, 'Decisions about this source patient'),
    parametersOut('One `decision` parameter per decision'),
  ],
);

export const MDM_UPDATE_LINK = mdm(
  'mdm-update-link',
  "A reviewer's link decision",
  true,
  'A reviewer decides that a source patient is (MATCH) or is not (NO_MATCH) the person of a golden patient. The matcher never moves a reviewer decision; NO_MATCH keeps the two apart for good.',
  [
    patient('goldenResourceId', 1, 'The golden patient'),
    patient('resourceId', 1, 'The source patient'),
    { name: 'matchResult', use: 'in', min: 1, max: '1', type: 'code', documentation: 'MATCH or NO_MATCH' },
    parametersOut('The link as decided'),
  ],
);

export const MDM_MERGE_GOLDEN_RESOURCES = mdm(
  'mdm-merge-golden-resources',
  'Merge two golden patients',
  true,
  'Moves every source patient of one golden patient to another, which survives; the merged one then reads 410.',
  [
    patient('fromGoldenResourceId', 1, 'The golden patient merged away'),
    patient('toGoldenResourceId', 1, 'The golden patient that survives'),
    parametersOut('The surviving golden patient and the source patients moved'),
  ],
);
