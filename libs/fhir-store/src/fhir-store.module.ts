import { DynamicModule, Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '@fa/platform';
import { FhirStoreReader } from './queries/fhir-store.reader';
import { ReadResourceHandler } from './queries/read-resource/read-resource.handler';
import { ReadVersionHandler } from './queries/read-version/read-version.handler';
import { ResourceHistoryHandler } from './queries/resource-history/resource-history.handler';
import { ResourceLineageHandler } from './queries/resource-lineage/resource-lineage.handler';
import { StoreDigestHandler } from './queries/store-digest/store-digest.handler';
import { HeldBySourceHandler } from './queries/held-by-source/held-by-source.handler';
import { FhirSearchReader } from './queries/search/fhir-search.reader';
import { PatientEverythingReader } from './queries/patient-everything/patient-everything.reader';
import { SearchResourcesHandler } from './queries/search-resources/search-resources.handler';
import { PatientEverythingHandler } from './queries/patient-everything/patient-everything.handler';
import { ExportVersionsReader } from './queries/export-versions/export-versions.reader';
import { ExportTypesHandler, ExportVersionsHandler } from './queries/export-versions/export-versions.handler';

/** Read side of the temporal FHIR store. Needs CqrsModule and a PG_POOL provider from the host application. */
@Module({})
export class FhirStoreModule {
  /**
   * queryTimeoutMs: the time budget of each search and $everything statement (QUERY_TIMEOUT; 0: none);
   * includeLimit: the most resources _include/_revinclude add to a page (INCLUDE_LIMIT).
   * searchLinkLimit: the most linked rows a chain or _has may touch (SEARCH_LINK_LIMIT).
   */
  static forRoot(options: {
    queryTimeoutMs: number;
    includeLimit?: number;
    searchLinkLimit?: number;
  }): DynamicModule {
    return {
      module: FhirStoreModule,
      providers: [
        {
          provide: FhirStoreReader,
          useFactory: (pool: Pool) => new FhirStoreReader(pool),
          inject: [PG_POOL],
        },
        {
          provide: FhirSearchReader,
          useFactory: (pool: Pool) =>
            new FhirSearchReader(
              pool,
              undefined,
              options.queryTimeoutMs,
              options.includeLimit,
              options.searchLinkLimit,
            ),
          inject: [PG_POOL],
        },
        {
          provide: PatientEverythingReader,
          useFactory: (pool: Pool) => new PatientEverythingReader(pool, undefined, options.queryTimeoutMs),
          inject: [PG_POOL],
        },
        {
          provide: ExportVersionsReader,
          useFactory: (pool: Pool) => new ExportVersionsReader(pool, undefined, options.searchLinkLimit),
          inject: [PG_POOL],
        },
        ReadResourceHandler,
        SearchResourcesHandler,
        ExportVersionsHandler,
        ExportTypesHandler,
        PatientEverythingHandler,
        ReadVersionHandler,
        ResourceHistoryHandler,
        ResourceLineageHandler,
        StoreDigestHandler,
        HeldBySourceHandler,
      ],
    };
  }
}
