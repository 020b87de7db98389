import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { EverythingResult, FhirSearchReader } from '../search/fhir-search.reader';
import { PatientEverythingQuery } from './patient-everything.query';

@QueryHandler(PatientEverythingQuery)
export class PatientEverythingHandler implements IQueryHandler<PatientEverythingQuery, EverythingResult> {
  constructor(private readonly reader: FhirSearchReader) {}

  execute(query: PatientEverythingQuery): Promise<EverythingResult> {
    return this.reader.everything(query.criteria);
  }
}
