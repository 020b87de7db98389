import { Command } from '@nestjs/cqrs';
import type { ExportJobCommand, ExportJobState } from '../../domain/export-job';

/** Decides a command on an export job's stream and appends what it yields; resolves to the job's new state. */
export class ChangeExportJobCommand extends Command<ExportJobState> {
  constructor(
    readonly jobId: string,
    readonly command: ExportJobCommand,
  ) {
    super();
  }
}
