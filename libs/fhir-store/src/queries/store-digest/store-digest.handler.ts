import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { FhirStoreReader } from '../fhir-store.reader';
import { StoreDigest, StoreDigestQuery } from './store-digest.query';

@QueryHandler(StoreDigestQuery)
export class StoreDigestHandler implements IQueryHandler<StoreDigestQuery, StoreDigest> {
  constructor(private readonly reader: FhirStoreReader) {}

  async execute(): Promise<StoreDigest> {
    const [digest, versionsByType] = await Promise.all([
      this.reader.contentDigest(),
      this.reader.countsByType(),
    ]);
    return { ...digest, versionsByType };
  }
}
