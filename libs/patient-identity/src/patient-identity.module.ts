import { Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL, readIdentityConfig } from '@fa/platform';
import { GoldenPatientStreams } from './commands/golden-patient-streams';
import { MergeGoldenPatientsHandler } from './commands/merge-golden-patients/merge-golden-patients.handler';
import { UpdateLinkHandler } from './commands/update-link/update-link.handler';
import { survivorshipFromConfig } from './identity-config';
import { SURVIVORSHIP_POLICY } from './identity-tokens';
import { IdentityReader } from './queries/identity.reader';
import { FitIdentityModelHandler } from './queries/fit-identity-model/fit-identity-model.handler';
import { GoldenPatientHandler } from './queries/golden-patient/golden-patient.handler';
import { GoldenPatientEverythingHandler } from './queries/golden-patient-everything/golden-patient-everything.handler';
import { GoldenPatientHistoryHandler } from './queries/golden-patient-history/golden-patient-history.handler';
import { GoldenPatientSearchHandler } from './queries/golden-patient-search/golden-patient-search.handler';
import { LinkHistoryHandler } from './queries/link-history/link-history.handler';
import { QueryLinksHandler } from './queries/query-links/query-links.handler';
import { ReviewQueueHandler } from './queries/review-queue/review-queue.handler';

/**
 * The Patient Identity context's commands and queries. Its two log followers (the matching processor and the
 * patient-identity projection) are registered with the projection runner by the composition root.
 */
@Module({
  providers: [
    { provide: IdentityReader, useFactory: (pool: Pool) => new IdentityReader(pool), inject: [PG_POOL] },
    // Checked when the module starts: a bad IDENTITY_SURVIVORSHIP stops the service with its message.
    { provide: SURVIVORSHIP_POLICY, useFactory: () => survivorshipFromConfig(readIdentityConfig()) },
    GoldenPatientStreams,
    UpdateLinkHandler,
    MergeGoldenPatientsHandler,
    QueryLinksHandler,
    LinkHistoryHandler,
    ReviewQueueHandler,
    GoldenPatientHandler,
    GoldenPatientEverythingHandler,
    GoldenPatientSearchHandler,
    GoldenPatientHistoryHandler,
    FitIdentityModelHandler,
  ],
})
export class PatientIdentityModule {}
