import { decide, evolve, initialBulkSyncState, type BulkSyncState } from './bulk-sync-decider';
import { onResumePoll, planRun, type ExportRequest } from './resume';
import type { BulkSyncEvent } from '../events';

const fold = (events: BulkSyncEvent[], state: BulkSyncState = initialBulkSyncState) =>
  events.reduce(evolve, state);

const request: ExportRequest = {
  server: 'http://x/fhir',
  since: '2026-01-01T00:00:00Z',
  types: ['Patient', 'Encounter'],
  sink: 'store',
};
const started = (statusUrl: string, asked: ExportRequest = request) =>
  fold(
    decide(initialBulkSyncState, {
      kind: 'start',
      started: { source: 's', kickoffUrl: 'http://x/fhir/$export', statusUrl, ...asked },
    }),
  );

describe('resuming an unfinished bulk-sync run', () => {
  it('kicks off when no run is unfinished', () => {
    expect(planRun(initialBulkSyncState, request)).toEqual({ kind: 'kick-off' });
  });

  it('resumes a run left started that asked for the same export, from its status URL', () => {
    const plan = planRun(started('http://x/status/1'), request);
    expect(plan).toMatchObject({ kind: 'resume', unfinished: { statusUrl: 'http://x/status/1' } });
  });

  it('a run that asks for another export (since, types, group, server or sink) supersedes the unfinished one', () => {
    const state = started('http://x/status/1');
    for (const other of [
      { ...request, since: '2026-02-01T00:00:00Z' },
      { ...request, since: undefined },
      { ...request, types: ['Patient'] },
      { ...request, group: 'g1' },
      { ...request, server: 'http://y/fhir' },
      { ...request, sink: 'kafka' as const },
    ])
      expect(planRun(state, other)).toMatchObject({
        kind: 'kick-off',
        superseded: { statusUrl: 'http://x/status/1' },
      });
  });

  it('continues on 202 or 200, kicks off anew on 404 or 410, fails on anything else', () => {
    expect([202, 200, 404, 410, 400, 403].map(onResumePoll)).toEqual([
      'continue',
      'continue',
      'kick-off-anew',
      'kick-off-anew',
      'fail',
      'fail',
    ]);
  });

  it('records the resume on the run, which stays running and completes under its status URL', () => {
    let state = started('http://x/status/1');
    const resumed = decide(state, { kind: 'resume', statusUrl: 'http://x/status/1', status: 202 });
    expect(resumed).toEqual([
      { type: 'BulkSyncResumed', data: { source: 's', statusUrl: 'http://x/status/1', status: 202 } },
    ]);
    state = fold(resumed, state);
    expect(state.running?.statusUrl).toBe('http://x/status/1');
    expect(() => decide(state, { kind: 'resume', statusUrl: 'http://x/status/2', status: 202 })).toThrow(
      /no run of http:\/\/x\/status\/2 is in progress/,
    );
    state = fold(
      decide(state, {
        kind: 'complete',
        statusUrl: 'http://x/status/1',
        transactionTime: '2026-01-02T00:00:00Z',
        tallies: {},
        threshold: 0.1,
      }),
      state,
    );
    expect(state).toMatchObject({ running: undefined, lastCompleted: { statusUrl: 'http://x/status/1' } });
    expect(planRun(state, request)).toEqual({ kind: 'kick-off' });
  });
});
