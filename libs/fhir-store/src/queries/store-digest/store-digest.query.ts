import { Query } from '@nestjs/cqrs';

export interface StoreDigest {
  rows: number;
  digest: string;
  versionsByType: Record<string, number>;
}

/** Row count, content digest and versions per type of the fhir-store read model (verifies rebuilds). */
export class StoreDigestQuery extends Query<StoreDigest> {}
