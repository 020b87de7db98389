import type { Extension, Provenance } from 'fhir/r4';
import { SOURCE_SYSTEMS, sourceSystemUri } from '@fa/fhir';
import type { StoredVersion } from '../queries/fhir-store.reader';

export const LINEAGE_EXTENSION_BASE = 'https://fhir-aggregator.dev/StructureDefinition';

/** The activity that produced a version, in HL7's DataOperation terms. */
function activity(version: StoredVersion): string {
  if (version.deleted) return 'DELETE';
  return version.versionId === 1 ? 'CREATE' : 'UPDATE';
}

/** Lineage of one recorded version as FHIR Provenance; its id is the event id, stable across rebuilds. */
export function provenanceOf(version: StoredVersion): Provenance {
  const { lineage } = version;
  const ext = (name: string, value: Omit<Extension, 'url'>): Extension => ({
    url: `${LINEAGE_EXTENSION_BASE}/${name}`,
    ...value,
  });
  const extensions: Extension[] = [
    ext('content-hash', { valueString: `sha256:${lineage.contentHash}` }),
    ext('received-at', { valueInstant: lineage.receivedAt }),
    ext('ingestion-instance', { valueString: lineage.ingestionInstance }),
    ext('supersedes-current', { valueBoolean: lineage.supersedesCurrent }),
  ];
  const { file, kafka, http, bulk, correlationId } = lineage.origin;
  if (bulk) {
    extensions.push(
      ext('origin-bulk-export', {
        extension: [
          { url: 'server', valueUrl: bulk.server },
          { url: 'statusUrl', valueUrl: bulk.statusUrl },
          { url: 'transactionTime', valueInstant: bulk.transactionTime },
          { url: 'fileUrl', valueUrl: bulk.fileUrl },
          { url: 'line', valueInteger: bulk.line },
          ...(bulk.entryIndex !== undefined ? [{ url: 'entryIndex', valueInteger: bulk.entryIndex }] : []),
        ],
      }),
    );
  }
  if (file) {
    extensions.push(
      ext('origin-file', {
        extension: [
          { url: 'path', valueString: file.path },
          ...(file.line !== undefined ? [{ url: 'line', valueInteger: file.line }] : []),
          ...(file.entryIndex !== undefined ? [{ url: 'entryIndex', valueInteger: file.entryIndex }] : []),
        ],
      }),
    );
  }
  if (kafka) {
    extensions.push(
      ext('origin-kafka', {
        extension: [
          { url: 'topic', valueString: kafka.topic },
          { url: 'partition', valueInteger: kafka.partition },
          { url: 'offset', valueString: kafka.offset },
          ...(kafka.key !== undefined ? [{ url: 'key', valueString: kafka.key }] : []),
          ...(kafka.timestamp !== undefined ? [{ url: 'timestamp', valueString: kafka.timestamp }] : []),
          ...(kafka.entryIndex !== undefined ? [{ url: 'entryIndex', valueInteger: kafka.entryIndex }] : []),
        ],
      }),
    );
  }
  if (http) extensions.push(ext('origin-http', { valueString: http.requestId }));
  if (correlationId) extensions.push(ext('correlation-id', { valueString: correlationId }));
  for (const t of lineage.transformations) {
    extensions.push(
      ext('transformation', { valueString: `${t.name}@${t.version}${t.detail ? `: ${t.detail}` : ''}` }),
    );
  }
  for (const issue of lineage.validationIssues) {
    extensions.push(
      ext('validation-issue', { valueString: `${issue.severity} ${issue.code}: ${issue.diagnostics}` }),
    );
  }
  const sourceRecord = `${lineage.sourceResourceType}/${lineage.sourceId}`;
  return {
    resourceType: 'Provenance',
    id: version.eventId,
    target: [{ reference: `${version.resourceType}/${version.id}/_history/${version.versionId}` }],
    recorded: version.recordedFrom.toISOString(),
    ...(lineage.sourceLastUpdated ? { occurredDateTime: lineage.sourceLastUpdated } : {}),
    policy: [`${LINEAGE_EXTENSION_BASE}/ingestion-policy`],
    activity: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: activity(version) }],
    },
    agent: [
      {
        type: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author' },
          ],
        },
        who: {
          identifier: { system: SOURCE_SYSTEMS, value: lineage.source },
          display: `source system ${lineage.source}`,
        },
      },
      {
        type: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
              code: 'assembler',
            },
          ],
        },
        who: { display: `fhir-aggregator ingestion ${lineage.ingestionInstance}` },
      },
    ],
    entity: [
      {
        role: 'source',
        what: {
          identifier: { system: sourceSystemUri(lineage.source), value: sourceRecord },
          display: `${sourceRecord}${lineage.sourceVersionId ? ` version ${lineage.sourceVersionId}` : ''} from ${lineage.source}`,
        },
      },
    ],
    extension: extensions,
  };
}

/** The same lineage as plain JSON for tools. */
export function lineageJsonOf(version: StoredVersion) {
  return {
    resourceType: version.resourceType,
    id: version.id,
    versionId: version.versionId,
    eventId: version.eventId,
    recordedAt: version.recordedFrom.toISOString(),
    currentUntil: version.recordedTo?.toISOString() ?? null,
    deleted: version.deleted,
    ...version.lineage,
  };
}
