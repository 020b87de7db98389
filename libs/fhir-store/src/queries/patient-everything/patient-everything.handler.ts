import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { EverythingResult, PatientEverythingReader } from './patient-everything.reader';
import { PatientEverythingQuery } from './patient-everything.query';

@QueryHandler(PatientEverythingQuery)
export class PatientEverythingHandler implements IQueryHandler<PatientEverythingQuery, EverythingResult> {
  constructor(private readonly reader: PatientEverythingReader) {}

  execute(query: PatientEverythingQuery): Promise<EverythingResult> {
    return this.reader.everything(query.criteria);
  }
}
