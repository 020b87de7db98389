import { Query } from '@nestjs/cqrs';

/**
 * The instant a current export reads at, taken at kick-off from PostgreSQL's clock: a millisecond before now,
 * so every event appended from here on records a later time; and the snapshot horizon (xmax) the job waits on
 * before it reads, so the transactions still open now, whose events may record an earlier time, are in.
 */
export class ExportSnapshotQuery extends Query<{ transactionTime: Date; horizon: string }> {}
