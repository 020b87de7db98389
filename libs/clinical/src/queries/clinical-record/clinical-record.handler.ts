import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import type { Resource } from 'fhir/r4';
import { EverythingCriteria, PatientEverythingQuery } from '@fa/fhir-store';
import { GoldenPatientEverythingQuery } from '@fa/patient-identity';
import { deduplicate } from '../../domain/clinical-record';
import { FactLinksReader } from '../fact-links.reader';
import { ClinicalRecordQuery, ClinicalRecordResult } from './clinical-record.query';

/** Each member's whole answer is gathered before it is de-duplicated (as the golden $everything does). */
const MAX_RECORD = 100_000;

@QueryHandler(ClinicalRecordQuery)
export class ClinicalRecordHandler implements IQueryHandler<ClinicalRecordQuery, ClinicalRecordResult> {
  constructor(
    private readonly queryBus: QueryBus,
    private readonly links: FactLinksReader,
  ) {}

  async execute({ patientId, asOf, options }: ClinicalRecordQuery): Promise<ClinicalRecordResult> {
    const criteria: EverythingCriteria = { patientId, asOf, ...options, offset: 0, count: MAX_RECORD };
    const stored = await this.queryBus.execute(new PatientEverythingQuery(criteria));
    const golden = stored.status === 'not-found';
    const result = golden ? await this.queryBus.execute(new GoldenPatientEverythingQuery(criteria)) : stored;
    if (result.status === 'not-found') return { status: 'not-found' };
    if (result.status === 'deleted' || result.status === 'merged') return { status: 'gone', at: result.at };
    const entries = result.entries
      .filter((e) => e.resource !== null)
      .map((e) => ({ resourceType: e.resourceType, id: e.id, resource: e.resource as Resource }));
    const links = await this.links.linksAmong(
      entries.map((e) => `${e.resourceType}/${e.id}`),
      asOf,
    );
    const patient = entries.find((e) => e.resourceType === 'Patient' && e.id === patientId)?.resource ?? null;
    return { status: 'found', patientId, golden, patient, entries: deduplicate(entries, links) };
  }
}
