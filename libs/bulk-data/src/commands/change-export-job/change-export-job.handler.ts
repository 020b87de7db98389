import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { EVENT_STORE, type EventStore } from '@fa/event-store';
import { v4 as uuidv4 } from 'uuid';
import { decideExportJob, evolveExportJob, type ExportJobState } from '../../domain/export-job';
import { EXPORT_STREAM_PREFIX } from '../../events/export-events';
import { loadExportJob } from '../../queries/export-job/export-job.handler';
import { ChangeExportJobCommand } from './change-export-job.command';

@CommandHandler(ChangeExportJobCommand)
export class ChangeExportJobHandler implements ICommandHandler<ChangeExportJobCommand, ExportJobState> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ jobId, command }: ChangeExportJobCommand): Promise<ExportJobState> {
    const { state, revision } = await loadExportJob(this.store, jobId);
    const events = decideExportJob(state, command);
    // The expected revision makes two writers of one job (two export workers) fail rather than interleave.
    await this.store.append(
      `${EXPORT_STREAM_PREFIX}${jobId}`,
      events.map((event) => ({ id: uuidv4(), type: event.type, data: event.data })),
      revision ?? 'no_stream',
    );
    return events.reduce(evolveExportJob, state);
  }
}
