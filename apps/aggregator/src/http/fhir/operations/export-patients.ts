import type { QueryBus } from '@nestjs/cqrs';
import type { Group } from 'fhir/r4';
import { ExportVersionsQuery, ReadResourceQuery } from '@fa/fhir-store';
import { GOLDEN_RECORD_TAG } from '@fa/patient-identity';
import { FhirError } from '../../fhir-error';
import { sourcePatientsOf } from '../search/golden-expansion';
import type { KickOffIssues } from './export-issues';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const GOLDEN_TAG = `${GOLDEN_RECORD_TAG.system}|${GOLDEN_RECORD_TAG.code}`;

/**
 * The id a Group member's reference names on this server: `Patient/<id>` (a patient of the Group's own source,
 * its id rewritten to ours at ingestion), or the conditional reference `Patient?_id=<id>` (optionally with
 * `_tag=<mdm-record-status>|GOLDEN_RECORD`), which ingestion keeps as sent, so a source can name one of our
 * golden patients (its id as `GET /fhir/Patient?_tag=…GOLDEN_RECORD` answers it). Undefined for another form;
 * null for a reference to something else than a Patient.
 */
export function groupMemberId(reference: string): string | undefined | null {
  const literal = /^Patient\/(.+)$/.exec(reference);
  if (literal) return ID.test(literal[1]) ? literal[1] : undefined;
  const conditional = /^Patient\?(.*)$/.exec(reference);
  if (!conditional) return null;
  const query = new URLSearchParams(conditional[1]);
  const ids = query.getAll('_id');
  const tags = query.getAll('_tag');
  const known = [...query.keys()].every((k) => k === '_id' || k === '_tag');
  if (!known || ids.length !== 1 || !ID.test(ids[0]) || tags.some((t) => t !== GOLDEN_TAG)) return undefined;
  return ids[0];
}

/**
 * Each id's patients as of `at`: a golden patient's linked source patients, a patient the store holds itself;
 * empty for an id that is neither (not known then).
 */
export async function patientsBehind(
  queryBus: QueryBus,
  ids: Iterable<string>,
  at: Date,
): Promise<Map<string, string[]>> {
  const behind = new Map<string, string[]>();
  for (const id of ids) behind.set(id, await sourcePatientsOf(queryBus, id, at));
  const all = [...new Set([...behind.values()].flat())];
  const known = new Set<string>();
  if (all.length > 0)
    for (const row of await queryBus.execute(
      new ExportVersionsQuery({ resourceType: 'Patient', asOf: at, patients: all, limit: all.length }),
    ))
      known.add(row.id);
  for (const [id, patients] of behind)
    behind.set(
      id,
      patients.filter((p) => known.has(p)),
    );
  return behind;
}

/**
 * The patients of a Group as of `at`: its active Patient members, a golden patient expanded to its linked
 * source patients. A member this cannot resolve (another reference form, or an id not known then) is reported
 * in the manifest's `error`, never silently left out.
 */
export async function groupPatients(
  queryBus: QueryBus,
  groupId: string,
  at: Date,
  issues: KickOffIssues,
): Promise<Set<string>> {
  const read = await queryBus.execute(new ReadResourceQuery('Group', groupId, at));
  if (read.status !== 'found')
    throw FhirError.badRequest(`Group/${groupId} is not known at ${at.toISOString()}`, 'Group');
  const group = read.version.resource as Group;
  const ids = new Set<string>();
  for (const member of group.member ?? []) {
    if (member.inactive) continue;
    const reference = member.entity?.reference ?? '';
    const id = groupMemberId(reference);
    if (id) ids.add(id);
    else if (id === undefined)
      issues.report({
        code: 'not-supported',
        expression: 'Group.member',
        diagnostics: `Group/${groupId}: member ${JSON.stringify(reference.slice(0, 100))} not exported: a member is Patient/<id> or Patient?_id=<id>`,
      });
  }
  const members = new Set<string>();
  for (const [id, patients] of await patientsBehind(queryBus, ids, at)) {
    if (patients.length === 0)
      issues.report({
        code: 'not-found',
        expression: 'Group.member',
        diagnostics: `Group/${groupId}: member Patient/${id} is neither a patient nor a golden patient known at ${at.toISOString()}; not exported`,
      });
    for (const patient of patients) members.add(patient);
  }
  return members;
}
