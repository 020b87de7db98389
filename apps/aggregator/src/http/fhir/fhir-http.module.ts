import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DetectedIssueController } from './detected-issue/detected-issue.controller';
import { AuditEventController } from './audit/audit-event.controller';
import { HistoryController } from './history/history.controller';
import { MetadataController } from './metadata/metadata.controller';
import { ClinicalFactSplitController } from './operations/clinical-fact-split.controller';
import { ExportController } from './operations/export.controller';
import { MdmController } from './operations/mdm.controller';
import { OperationRegistry } from './operations/operation-registry';
import { PatientEverythingController } from './operations/patient-everything.controller';
import { PatientSummaryController } from './operations/patient-summary.controller';
import { ViewDefinitionRunController } from './operations/view-definition-run.controller';
import { ReadController } from './read/read.controller';
import { SearchController } from './search/search.controller';
import { NotSupportedController } from './not-supported.controller';
import { SmartConfigurationController } from '../security/smart-configuration.controller';

/**
 * The FHIR REST API under /fhir. Express tries routes in registration order, so the order below is the only
 * precedence there is: literal first segments (metadata, _history, $operations) before the `:type` routes,
 * and the catch-all last. Every operation is declared by its OperationDefinition (@FhirOperation).
 */
@Module({
  imports: [DiscoveryModule],
  providers: [OperationRegistry],
  controllers: [
    SmartConfigurationController,
    MetadataController,
    MdmController,
    ExportController,
    PatientEverythingController,
    PatientSummaryController,
    ClinicalFactSplitController,
    ViewDefinitionRunController,
    DetectedIssueController,
    HistoryController,
    AuditEventController,
    SearchController,
    ReadController,
    NotSupportedController,
  ],
})
export class FhirHttpModule {}
