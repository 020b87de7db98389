import type { QueryBus } from '@nestjs/cqrs';
import { ReadResourceQuery } from '@fa/fhir-store';
import { QueryLinksQuery } from '@fa/patient-identity';

/** The patients a question about one patient id covers, as Patient Identity knew them at `asOf`. */
export interface PatientScope {
  goldenPatientId?: string;
  /** The golden patient's source patients (or the one source patient Patient Identity has not linked). */
  sourcePatientIds: string[];
}

const MAX_MEMBERS = 10_000;

/**
 * A golden patient id gives its members; a source patient id gives its golden patient's members (the same
 * person's claims from every source). Asked of Patient Identity and the FHIR store over the QueryBus; undefined
 * when the id is neither at that instant.
 */
export async function patientScope(
  queryBus: QueryBus,
  patientId: string,
  asOf: Date,
): Promise<PatientScope | undefined> {
  const { links: members } = await queryBus.execute(
    new QueryLinksQuery({ goldenId: patientId, asOf, limit: MAX_MEMBERS }),
  );
  if (members.length > 0) {
    return { goldenPatientId: patientId, sourcePatientIds: members.map((l) => l.sourcePatientId) };
  }
  const source = await queryBus.execute(new ReadResourceQuery('Patient', patientId, asOf));
  if (source.status !== 'found') return undefined;
  const {
    links: [link],
  } = await queryBus.execute(new QueryLinksQuery({ sourcePatientId: patientId, asOf, limit: 1 }));
  if (!link) return { sourcePatientIds: [patientId] };
  const { links: all } = await queryBus.execute(
    new QueryLinksQuery({ goldenId: link.goldenId, asOf, limit: MAX_MEMBERS }),
  );
  return { goldenPatientId: link.goldenId, sourcePatientIds: all.map((l) => l.sourcePatientId) };
}
