import { Command } from '@nestjs/cqrs';

export interface SplitFactsResult {
  linkId: string;
  eventId: string;
}

/** A reviewer says two resources linked as one clinical fact are not: the link is split for good. */
export class SplitFactsCommand extends Command<SplitFactsResult> {
  constructor(
    /** "<Type>/<id>" of each resource. */
    readonly resources: [{ resourceType: string; id: string }, { resourceType: string; id: string }],
    readonly reviewer: string,
    readonly requestId: string,
    readonly note?: string,
  ) {
    super();
  }
}
