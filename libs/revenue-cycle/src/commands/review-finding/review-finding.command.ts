import { Command } from '@nestjs/cqrs';
import type { FindingStatus } from '../../domain/duplicate-decider';

export interface ReviewFindingResult {
  findingId: string;
  status: FindingStatus;
  /** False when the finding already had this resolution (nothing recorded). */
  recorded: boolean;
}

/** A reviewer confirms or dismisses a duplicate-claim finding. Throws FindingCommandRejected. */
export class ReviewFindingCommand extends Command<ReviewFindingResult> {
  constructor(
    readonly findingId: string,
    readonly resolution: 'confirmed' | 'dismissed',
    readonly reviewer: string,
    readonly note: string | undefined,
    /** Makes a retried request record nothing twice. */
    readonly requestId: string,
  ) {
    super();
  }
}
