import { Query } from '@nestjs/cqrs';
import type { TimelineItem } from '../../domain/clinical-timeline';

export type ClinicalTimelineResult =
  | { status: 'found'; patientId: string; golden: boolean; items: TimelineItem[] }
  | { status: 'not-found' }
  | { status: 'gone'; at: Date };

/** A patient's de-duplicated clinical facts in time order, those with a clinical time in [from, to), as of asOf. */
export class ClinicalTimelineQuery extends Query<ClinicalTimelineResult> {
  constructor(
    readonly patientId: string,
    readonly range: { from?: Date; to?: Date },
    readonly asOf?: Date,
  ) {
    super();
  }
}
