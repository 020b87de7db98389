import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { FhirStoreReader } from '../fhir-store.reader';
import { HeldBySourceQuery } from './held-by-source.query';

@QueryHandler(HeldBySourceQuery)
export class HeldBySourceHandler implements IQueryHandler<HeldBySourceQuery, Record<string, number>> {
  constructor(private readonly reader: FhirStoreReader) {}

  execute({ source }: HeldBySourceQuery): Promise<Record<string, number>> {
    return this.reader.currentCountsBySource(source);
  }
}
