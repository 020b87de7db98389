import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { EVENT_STORE, type EventStore } from '@fa/event-store';
import { evolveExportJob, INITIAL_EXPORT_JOB, type ExportJobState } from '../../domain/export-job';
import { asExportEvent, EXPORT_STREAM_PREFIX } from '../../events/export-events';
import { ExportJobQuery } from './export-job.query';

/** Folds a job's stream; its revision is what the next append expects. */
export async function loadExportJob(
  store: EventStore,
  jobId: string,
): Promise<{ state: ExportJobState; revision?: number }> {
  const events = await store.readStream(`${EXPORT_STREAM_PREFIX}${jobId}`);
  let state = INITIAL_EXPORT_JOB;
  for (const recorded of events) {
    const event = asExportEvent(recorded);
    if (event) state = evolveExportJob(state, event);
  }
  return { state, revision: events.at(-1)?.streamRevision };
}

@QueryHandler(ExportJobQuery)
export class ExportJobHandler implements IQueryHandler<ExportJobQuery, ExportJobState> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ jobId }: ExportJobQuery): Promise<ExportJobState> {
    return (await loadExportJob(this.store, jobId)).state;
  }
}
