import { Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '@fa/platform';
import { SplitFactsHandler } from './commands/split-facts/split-facts.handler';
import { ClinicalRecordHandler } from './queries/clinical-record/clinical-record.handler';
import { ClinicalTimelineHandler } from './queries/clinical-timeline/clinical-timeline.handler';
import { DeduplicatedEverythingHandler } from './queries/deduplicated-everything/deduplicated-everything.handler';
import { FactLinksReader } from './queries/fact-links.reader';
import { PatientSummaryHandler } from './queries/patient-summary/patient-summary.handler';

/**
 * The Clinical context's commands and queries. Its two log followers (the fact matcher and the clinical-facts
 * read model) are registered with the projection runner by the composition root.
 */
@Module({
  providers: [
    { provide: FactLinksReader, useFactory: (pool: Pool) => new FactLinksReader(pool), inject: [PG_POOL] },
    ClinicalRecordHandler,
    DeduplicatedEverythingHandler,
    PatientSummaryHandler,
    ClinicalTimelineHandler,
    SplitFactsHandler,
  ],
})
export class ClinicalModule {}
