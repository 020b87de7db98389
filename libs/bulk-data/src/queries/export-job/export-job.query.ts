import { Query } from '@nestjs/cqrs';
import type { ExportJobState } from '../../domain/export-job';

/** An export job as its stream says now (status `none` when there is no such job). */
export class ExportJobQuery extends Query<ExportJobState> {
  constructor(readonly jobId: string) {
    super();
  }
}
