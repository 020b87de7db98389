import type { ExportPageCriteria, ExportRow } from '@fa/fhir-store';
import { snapshotOf, type UnitCheckpoint } from '../domain/export-job';
import { filterSetsOf } from '../domain/type-filter';
import type {
  BlockCursor,
  ExportProgressedData,
  ExportRequestedData,
  ExportUnit,
} from '../events/export-events';
import { blockHeader, exportLine, partPrefix } from './export-lines';
import { PartWriter } from './part-writer';

export interface BlockSink {
  dir: string;
  maxFileBytes: number;
  pageSize: number;
  page(criteria: ExportPageCriteria): Promise<ExportRow[]>;
  /** Appends the checkpoint; false when the job is no longer running (cancelled). */
  checkpoint(progress: Omit<ExportProgressedData, 'unit'>): Promise<boolean>;
  stopping(): boolean;
}

/**
 * organizeOutputBy=Patient: for each patient in id order (the job's patients, or every Patient current at the
 * snapshot, keyset-paged), a block: its header, then the patient and its compartment's resources of each type,
 * each type keyset-paged by id with the same criteria as a per-type export. A checkpoint (fsync, then the
 * cursor) follows every `pageSize` lines and the end, so memory holds one page and a resumed job goes on from
 * the cursor: patient, type, last id, and whether the patient's header is already written.
 */
export async function writeBlocks(
  sink: BlockSink,
  request: ExportRequestedData,
  unit: ExportUnit,
  checkpoint: UnitCheckpoint | undefined,
): Promise<number | 'stopped'> {
  const types = request.types.includes('Patient')
    ? ['Patient', ...request.types.filter((t) => t !== 'Patient')]
    : request.types;
  let cursor: BlockCursor | undefined = checkpoint?.cursor;
  const writer = await PartWriter.resume(
    sink.dir,
    partPrefix(unit),
    sink.maxFileBytes,
    checkpoint?.parts ?? [],
    cursor?.open ? blockHeader(cursor.patient) : undefined,
  );
  const asOf = snapshotOf(request);
  const since = request.since ? new Date(request.since) : undefined;
  let written = 0;
  let unsynced = 0;
  const save = async (done: boolean) => {
    const parts = await writer.sync();
    unsynced = 0;
    return sink.checkpoint({ parts, ...(cursor ? { cursor } : {}), done });
  };
  try {
    for (;;) {
      const patients = await nextPatients(sink, request, asOf, cursor);
      for (const patient of patients) {
        const resuming = cursor?.patient === patient;
        const header = blockHeader(patient);
        for (let t = resuming ? cursor!.type : 0; t < types.length; t++) {
          const type = types[t];
          let afterId = resuming && t === cursor!.type ? cursor!.afterId : undefined;
          const filterSets = filterSetsOf(type, request.typeFilters[type], request.constraints[type]);
          for (;;) {
            if (sink.stopping()) return 'stopped';
            const rows = await sink.page({
              resourceType: type,
              asOf,
              since,
              filterSets,
              patients: [patient],
              afterId,
              limit: sink.pageSize,
            });
            for (const row of rows)
              await writer.add(exportLine({ key: type, type, kind: 'resources' }, request, row), header);
            written += rows.length;
            unsynced += rows.length;
            afterId = rows.at(-1)?.id ?? afterId;
            cursor = { patient, type: t, afterId, open: writer.openBlock === header };
            if (unsynced >= sink.pageSize && !(await save(false))) return 'stopped';
            if (rows.length < sink.pageSize) break;
          }
        }
        cursor = { patient, type: types.length, open: false };
      }
      if (patients.length < sink.pageSize) break;
    }
    if (!(await save(true))) return 'stopped';
    return written;
  } finally {
    await writer.close();
  }
}

/** The next page of patients after the cursor's (its own when it is not done with it). */
async function nextPatients(
  sink: BlockSink,
  request: ExportRequestedData,
  asOf: Date,
  cursor: BlockCursor | undefined,
): Promise<string[]> {
  const unfinished = cursor && cursor.type < request.types.length ? [cursor.patient] : [];
  const after = cursor?.patient;
  if (request.patients) {
    const sorted = [...request.patients].sort();
    const rest = sorted.filter((id) => after === undefined || id > after);
    return [...unfinished, ...rest].slice(0, sink.pageSize);
  }
  const rows = await sink.page({
    resourceType: 'Patient',
    asOf,
    patients: 'any',
    afterId: after,
    limit: sink.pageSize,
  });
  return [...unfinished, ...rows.map((r) => r.id)];
}
