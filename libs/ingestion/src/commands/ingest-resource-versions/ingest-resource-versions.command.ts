import { Command } from '@nestjs/cqrs';
import type { OriginLineage } from '../../events';
import type { RejectionCode, SourceRecord } from '../../domain/source-record';

export interface IngestSummary {
  read: number;
  recorded: number;
  deleted: number;
  unchanged: number;
  rejected: { code: RejectionCode; reason: string; origin: OriginLineage }[];
}

/**
 * Records a batch of source records from one source system: each resource version not already held becomes a
 * ResourceVersionRecorded event, each delete a ResourceDeleted, each rejection an IngestionRejected. The batch is
 * appended in one transaction, so a crash leaves it either fully recorded or not at all.
 */
export class IngestResourceVersionsCommand extends Command<IngestSummary> {
  constructor(
    readonly source: string,
    readonly records: readonly SourceRecord[],
    /** Identifies this process in the lineage. */
    readonly ingestionInstance: string,
    readonly receivedAt: Date = new Date(),
  ) {
    super();
  }
}
