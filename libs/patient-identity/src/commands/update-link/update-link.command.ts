import { Command } from '@nestjs/cqrs';

export interface UpdateLinkResult {
  /** The golden patient the source patient belongs to afterwards. */
  goldenId: string;
  eventIds: string[];
}

/**
 * $mdm-update-link: a reviewer says a source patient is (MATCH) or is not (NO_MATCH) the golden patient. The
 * decision is manual and binds the matcher from then on.
 */
export class UpdateLinkCommand extends Command<UpdateLinkResult> {
  constructor(
    readonly goldenId: string,
    readonly sourcePatientId: string,
    readonly matchResult: 'MATCH' | 'NO_MATCH',
    readonly reviewer: string,
    /** Makes a retried request record nothing twice. */
    readonly requestId: string,
  ) {
    super();
  }
}
