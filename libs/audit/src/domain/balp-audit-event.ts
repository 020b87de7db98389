import type { AuditEvent } from 'fhir/r4';
import type { ChainedAccessRecord } from '../events/access-recorded.event';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const CLIENT_ID_SYSTEM = 'urn:fhir-aggregator:client-id';
export const AUDIT_CHAIN_EXTENSION = 'urn:fhir-aggregator:audit-chain';
export const ANONYMOUS_AGENT = 'anonymous';

/** BALP's subtype for a restful interaction; operations are `operation`, with the name in the type's text. */
function restfulCode(record: ChainedAccessRecord['record']): string | undefined {
  const { interaction, route } = record;
  if (interaction === 'search') return 'search-type';
  if (interaction === 'history')
    return route.includes(':id')
      ? 'history-instance'
      : route.includes(':type')
        ? 'history-type'
        : 'history-system';
  if (['read', 'vread', 'create', 'update', 'delete'].includes(interaction)) return interaction;
  if (interaction.startsWith('operation:')) return 'operation';
  return undefined;
}

function action(interaction: string): AuditEvent['action'] {
  if (interaction === 'create') return 'C';
  if (interaction === 'update') return 'U';
  if (interaction === 'delete') return 'D';
  if (['read', 'vread', 'history', 'search', 'lineage'].includes(interaction)) return 'R';
  return 'E';
}

/** BALP outcome: 0 success, 4 minor failure (refused, bad request), 8 serious failure (server error). */
export function outcomeOf(status: number): AuditEvent['outcome'] {
  return status < 400 ? '0' : status < 500 ? '4' : '8';
}

/**
 * The record as a FHIR AuditEvent in the shape of IHE Basic Audit Log Patterns (BALP): a restful interaction or
 * operation is type `rest`; an audited public answer (a token grant or refusal: a caller established or refused)
 * is DICOM's User Authentication / Login; the client as the
 * requesting agent (with its scopes and network address), this server as the responding agent, one Patient
 * entity per patient whose data left, and the query (base64, as BALP's entity.query). The chain position and
 * hashes travel as an extension so a reader can check a record against `cli audit verify`'s anchors.
 */
export function toBalpAuditEvent(row: ChainedAccessRecord): AuditEvent {
  const { record } = row;
  const code = restfulCode(record);
  const client = record.client ?? ANONYMOUS_AGENT;
  return {
    resourceType: 'AuditEvent',
    id: String(row.seq),
    extension: [
      {
        url: AUDIT_CHAIN_EXTENSION,
        extension: [
          { url: 'seq', valueInteger: row.seq },
          { url: 'prevHash', valueString: row.prevHash },
          { url: 'hash', valueString: row.hash },
          { url: 'requestId', valueString: record.requestId },
        ],
      },
    ],
    type: code
      ? { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'RESTful Operation' }
      : record.interaction === 'public'
        ? { system: DCM, code: '110114', display: 'User Authentication' }
        : { system: DCM, code: '110100', display: 'Application Activity' },
    subtype: [
      ...(code ? [{ system: RESTFUL_INTERACTION, code }] : []),
      ...(record.interaction === 'public' ? [{ system: DCM, code: '110122', display: 'Login' }] : []),
      { system: 'urn:fhir-aggregator:interaction', code: record.interaction },
    ],
    action: action(record.interaction),
    recorded: record.recorded,
    outcome: outcomeOf(record.status),
    outcomeDesc: `HTTP ${record.status}`,
    agent: [
      {
        type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
        who: record.client
          ? { identifier: { system: CLIENT_ID_SYSTEM, value: record.client } }
          : { display: ANONYMOUS_AGENT },
        name: client,
        requestor: true,
        policy: [...record.scopes],
        network: { address: record.address, type: '2' },
      },
      {
        type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] },
        who: { display: 'fhir-aggregator' },
        requestor: false,
      },
    ],
    source: {
      observer: { display: 'fhir-aggregator' },
      type: [{ system: SOURCE_TYPE, code: '4', display: 'Application Server' }],
    },
    entity: [
      {
        type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
        role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
        description: `${record.method} ${record.route}`,
        query: Buffer.from(record.query, 'utf8').toString('base64'),
      },
      ...record.patients.map((patient) => ({
        what: { reference: patient },
        type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
        role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
      })),
    ],
  };
}
