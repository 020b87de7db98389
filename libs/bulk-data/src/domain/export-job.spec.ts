import type { ExportRequestedData } from '../events/export-events';
import {
  decideExportJob,
  evolveExportJob,
  ExportJobRejection,
  exportProgress,
  exportUnits,
  INITIAL_EXPORT_JOB,
  snapshotOf,
  type ExportJobCommand,
  type ExportJobState,
} from './export-job';
import { exportManifest } from './export-manifest';
import { filterSetsOf, parseTypeFilter, splitTypeFilter, TypeFilterError } from './type-filter';

const request: ExportRequestedData = {
  jobId: 'j',
  clientId: 'c',
  request: 'http://x/fhir/$export',
  level: 'system',
  transactionTime: '2026-01-02T00:00:00.000Z',
  since: '2026-01-01T00:00:00.000Z',
  types: ['Patient', 'Observation'],
  typeFilters: {},
  includeProvenance: false,
  constraints: {},
  errors: [{ code: 'forbidden', diagnostics: 'no Claim' }],
  expiresAfterMs: 1000,
};

const run = (state: ExportJobState, command: ExportJobCommand) =>
  decideExportJob(state, command).reduce(evolveExportJob, state);

describe('export job decider', () => {
  it('runs request → progress per unit → complete, and refuses completing with units left', () => {
    let state = run(INITIAL_EXPORT_JOB, { kind: 'request', request });
    expect(state.status).toBe('running');
    expect(exportUnits(request).map((u) => u.key)).toEqual([
      'Patient',
      'Patient#deleted',
      'Observation',
      'Observation#deleted',
    ]);
    state = run(state, {
      kind: 'progress',
      progress: {
        unit: 'Patient',
        parts: [{ file: 'Patient-1.ndjson', count: 3, bytes: 30 }],
        lastId: 'c',
        done: true,
      },
    });
    expect(() => run(state, { kind: 'complete', at: new Date() })).toThrow(
      /Not yet written: Patient#deleted/,
    );
    for (const unit of ['Patient#deleted', 'Observation', 'Observation#deleted'])
      state = run(state, { kind: 'progress', progress: { unit, parts: [], done: true } });
    expect(exportProgress(state)).toEqual({ done: 4, total: 4, resources: 3 });
    state = run(state, { kind: 'complete', at: new Date('2026-01-03T00:00:00Z') });
    expect(state.status).toBe('completed');
    const manifest = exportManifest(state, (f) => `http://x/files/${f}`);
    expect(manifest).toMatchObject({
      transactionTime: request.transactionTime,
      requiresAccessToken: true,
      output: [{ type: 'Patient', url: 'http://x/files/Patient-1.ndjson', count: 3 }],
      deleted: [],
      error: [{ type: 'OperationOutcome', count: 1 }],
    });
  });

  it('refuses a second request, progress after cancel, an unknown unit; cancels once', () => {
    const state = run(INITIAL_EXPORT_JOB, { kind: 'request', request });
    expect(() => run(state, { kind: 'request', request })).toThrow(ExportJobRejection);
    expect(() =>
      run(state, { kind: 'progress', progress: { unit: 'Claim', parts: [], done: true } }),
    ).toThrow(/no unit Claim/);
    const cancelled = run(state, { kind: 'cancel', by: 'c' });
    expect(cancelled.status).toBe('cancelled');
    expect(() =>
      run(cancelled, { kind: 'progress', progress: { unit: 'Patient', parts: [], done: true } }),
    ).toThrow(/cancelled, not running/);
    expect(() => run(cancelled, { kind: 'cancel', by: 'c' })).toThrow(/No such export/);
  });

  it('reads at transactionTime, or at _until when earlier', () => {
    expect(snapshotOf(request).toISOString()).toBe(request.transactionTime);
    expect(snapshotOf({ ...request, until: '2026-01-01T12:00:00.000Z' }).toISOString()).toBe(
      '2026-01-01T12:00:00.000Z',
    );
    expect(snapshotOf({ ...request, until: '2027-01-01T00:00:00.000Z' }).toISOString()).toBe(
      request.transactionTime,
    );
  });
});

describe('_typeFilter', () => {
  it('parses by the search parser; refuses what it cannot run', () => {
    expect(splitTypeFilter('Observation?code=1&status=final')).toEqual({
      type: 'Observation',
      query: 'code=1&status=final',
    });
    expect(parseTypeFilter('Observation', 'code=http://loinc.org|1&status=final')).toHaveLength(2);
    expect(() => splitTypeFilter('Observation')).toThrow(TypeFilterError);
    expect(() => parseTypeFilter('Observation', 'bogus=1')).toThrow(/no search parameter bogus/);
    expect(() => parseTypeFilter('Observation', '_count=5')).toThrow(/_count is not supported/);
    expect(() => parseTypeFilter('Observation', 'date=notadate')).toThrow(TypeFilterError);
  });

  it("OR of the filters, each AND-ed with a granular scope's constraint", () => {
    expect(filterSetsOf('Observation', undefined, undefined)).toBeUndefined();
    expect(filterSetsOf('Observation', undefined, 'category=laboratory')).toHaveLength(1);
    const sets = filterSetsOf('Observation', ['code=1', 'status=final'], 'category=laboratory')!;
    expect(sets.map((s) => s.length)).toEqual([2, 2]);
  });
});
