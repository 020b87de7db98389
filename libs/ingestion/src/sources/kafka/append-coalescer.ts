import type { CommandBus } from '@nestjs/cqrs';
import {
  IngestResourceVersionsCommand,
  IngestSummary,
} from '../../commands/ingest-resource-versions/ingest-resource-versions.command';
import type { SourceRecord } from '../../domain/source-record';
import { ingestionMetrics } from '../../ingestion.metrics';

interface Submission {
  bySource: Map<string, SourceRecord[]>;
  resolve(summaries: Map<string, IngestSummary>): void;
  reject(error: unknown): void;
}

/**
 * Merges the small batches that concurrent partitions hand in at about the same time into one append per
 * source: each append is a durable commit, so fewer, larger ones go much faster. Every submitter learns the
 * outcome of the append that carried its records (and retries on failure, resubmitting them).
 */
export class AppendCoalescer {
  private pending: Submission[] = [];
  private pendingRecords = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly commandBus: CommandBus,
    private readonly ingestionInstance: string,
    private readonly options: { maxRecords: number; lingerMs: number },
  ) {}

  submit(bySource: Map<string, SourceRecord[]>): Promise<Map<string, IngestSummary>> {
    return new Promise((resolve, reject) => {
      this.pending.push({ bySource, resolve, reject });
      for (const records of bySource.values()) this.pendingRecords += records.length;
      if (this.pendingRecords >= this.options.maxRecords) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.lingerMs);
    });
  }

  /** One append per source of exactly these records, merged with nothing else (used to isolate a bad message). */
  async appendNow(bySource: Map<string, SourceRecord[]>): Promise<Map<string, IngestSummary>> {
    const summaries = new Map<string, IngestSummary>();
    for (const [source, records] of bySource) {
      const summary = await this.commandBus.execute(
        new IngestResourceVersionsCommand(source, records, this.ingestionInstance),
      );
      summaries.set(source, summary);
      ingestionMetrics.records.inc({ source, outcome: 'recorded' }, summary.recorded);
      ingestionMetrics.records.inc({ source, outcome: 'deleted' }, summary.deleted);
      ingestionMetrics.records.inc({ source, outcome: 'unchanged' }, summary.unchanged);
      ingestionMetrics.records.inc({ source, outcome: 'rejected' }, summary.rejected.length);
      for (const r of summary.rejected) ingestionMetrics.rejected.inc({ code: r.code });
    }
    return summaries;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const submissions = this.pending;
    this.pending = [];
    this.pendingRecords = 0;
    const merged = new Map<string, SourceRecord[]>();
    for (const submission of submissions) {
      for (const [source, records] of submission.bySource) {
        const list = merged.get(source) ?? [];
        list.push(...records);
        merged.set(source, list);
      }
    }
    void (async () => {
      try {
        const summaries = await this.appendNow(merged);
        for (const submission of submissions) submission.resolve(summaries);
      } catch (error) {
        for (const submission of submissions) submission.reject(error);
      }
    })();
  }
}
