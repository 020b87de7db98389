import { parseFhirJson, stringifyFhirJson, subsetElements } from '@fa/fhir';
import type { Resource } from 'fhir/r4';
import { provenanceOf, type ExportRow } from '@fa/fhir-store';
import type { ExportRequestedData, ExportUnit } from '../events/export-events';

/**
 * The NDJSON line of one row of a unit: the resource (subsetted by _elements, those of the unit's type: a block's
 * rows are written as their own type's), its deletion, or its Provenance.
 */
export function exportLine(unit: ExportUnit, request: ExportRequestedData, row: ExportRow): string {
  switch (unit.kind) {
    case 'resources':
    case 'blocks':
      return request.elements
        ? stringifyFhirJson(
            subsetElements(parseFhirJson(row.json!) as Resource, elementsOf(request.elements, unit.type)),
          )
        : row.json!;
    case 'deleted':
      return JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ request: { method: 'DELETE', url: `${unit.type}/${row.id}` } }],
      });
    case 'provenance':
      return JSON.stringify(
        provenanceOf({
          resourceType: unit.type,
          id: row.id,
          versionId: row.versionId,
          recordedFrom: row.recordedFrom,
          recordedTo: null,
          deleted: false,
          resource: null,
          eventId: row.eventId,
          cursor: '',
          lineage: row.lineage!,
        }),
      );
  }
}

/**
 * The file name prefix of a unit's parts: `Observation-1.ndjson`, `Observation-deleted-1.ndjson`,
 * `Provenance-Observation-1.ndjson`, `Patient-blocks-1.ndjson` (organized by patient).
 */
export function partPrefix(unit: ExportUnit): string {
  switch (unit.kind) {
    case 'resources':
      return unit.type;
    case 'deleted':
      return `${unit.type}-deleted`;
    case 'provenance':
      return `Provenance-${unit.type}`;
    case 'blocks':
      return `${unit.type}-blocks`;
  }
}

/**
 * The `_elements` that apply to a type (Bulk Data IG): `Patient.name` only to Patient, a plain `name` to every
 * type. A type none applies to keeps only its mandatory elements (id, meta, resourceType).
 */
export function elementsOf(elements: readonly string[], type: string): string[] {
  return elements.flatMap((element) => {
    const dot = element.indexOf('.');
    if (dot < 0) return [element];
    return element.slice(0, dot) === type ? [element.slice(dot + 1)] : [];
  });
}

/** The header line of a patient's resource block (organizeOutputBy=Patient, STU3). */
export function blockHeader(patientId: string): string {
  return JSON.stringify({
    resourceType: 'Parameters',
    parameter: [{ name: 'header', valueReference: { reference: `Patient/${patientId}` } }],
  });
}
