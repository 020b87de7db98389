import {
  BulkSyncRejected,
  decide,
  evolve,
  initialBulkSyncState,
  type BulkSyncState,
} from './bulk-sync-decider';
import type { BulkSyncEvent, TypeTally } from '../events';

const tally = (received: number, manifestCount?: number): TypeTally => ({
  files: 1,
  received,
  recorded: received,
  unchanged: 0,
  rejected: 0,
  published: 0,
  ...(manifestCount !== undefined ? { manifestCount } : {}),
});

const fold = (events: BulkSyncEvent[], state: BulkSyncState = initialBulkSyncState) =>
  events.reduce(evolve, state);

const start = (statusUrl: string, since?: string) =>
  ({
    kind: 'start',
    started: {
      source: 's',
      server: 'http://x/fhir',
      kickoffUrl: 'http://x/fhir/$export',
      statusUrl,
      since,
      sink: 'store',
    },
  }) as const;

const complete = (
  statusUrl: string,
  transactionTime: string,
  tallies: Record<string, TypeTally>,
  held?: Record<string, number>,
) => ({ kind: 'complete', statusUrl, transactionTime, tallies, held, threshold: 0.1 }) as const;

describe('bulk-sync decider', () => {
  it('a completed run gives the next run its transactionTime; a run left started is still running', () => {
    let state = fold(decide(initialBulkSyncState, start('http://x/status/1')));
    expect(state.running?.statusUrl).toBe('http://x/status/1');
    const done = decide(
      state,
      complete('http://x/status/1', '2026-01-01T00:00:00Z', { Patient: tally(10, 10) }),
    );
    expect(done.map((e) => e.type)).toEqual(['BulkSyncCompleted']);
    state = fold(done, state);
    expect(state).toMatchObject({
      revision: 1,
      running: undefined,
      lastCompleted: { transactionTime: '2026-01-01T00:00:00Z', completedRuns: 1 },
      lastFullCounts: { Patient: 10 },
    });
    state = fold(decide(state, start('http://x/status/2', '2026-01-01T00:00:00Z')), state);
    expect(state.running?.since).toBe('2026-01-01T00:00:00Z');
  });

  it('warns of a type below its manifest count and of a drop beyond the threshold from the last full export', () => {
    let state = fold(decide(initialBulkSyncState, start('u1')));
    state = fold(
      decide(state, complete('u1', '2026-01-01T00:00:00Z', { A: tally(100), B: tally(10) })),
      state,
    );
    state = fold(decide(state, start('u2')), state);
    const events = decide(
      state,
      complete('u2', '2026-01-02T00:00:00Z', { A: tally(89, 95), B: tally(10, 10) }),
    );
    expect(events[1]).toEqual({
      type: 'BulkSyncCompletenessWarned',
      data: {
        source: 's',
        statusUrl: 'u2',
        threshold: 0.1,
        warnings: [
          { resourceType: 'A', kind: 'below-manifest-count', expected: 95, actual: 89 },
          { resourceType: 'A', kind: 'drop-from-previous', expected: 100, actual: 89 },
        ],
      },
    });
  });

  it('an incremental run is not compared with the full export; a 10 % drop at threshold 0.1 does not warn', () => {
    let state = fold(decide(initialBulkSyncState, start('u1')));
    state = fold(decide(state, complete('u1', '2026-01-01T00:00:00Z', { A: tally(100) })), state);
    const incremental = fold(decide(state, start('u2', '2026-01-01T00:00:00Z')), state);
    expect(decide(incremental, complete('u2', '2026-01-02T00:00:00Z', { A: tally(3) }))).toHaveLength(1);
    const full = fold(decide(state, start('u3')), state);
    expect(decide(full, complete('u3', '2026-01-02T00:00:00Z', { A: tally(90) }))).toHaveLength(1);
  });

  it('refuses to complete a run that is not the running one, or one whose transactionTime goes back', () => {
    let state = fold(decide(initialBulkSyncState, start('u1')));
    expect(() => decide(state, { kind: 'cancel', statusUrl: 'other', reason: 'x' })).toThrow(
      BulkSyncRejected,
    );
    state = fold(decide(state, complete('u1', '2026-01-02T00:00:00Z', {})), state);
    state = fold(decide(state, start('u2')), state);
    expect(() => decide(state, complete('u2', '2026-01-01T00:00:00Z', {}))).toThrow(
      /before the last completed run's/,
    );
    state = fold(decide(state, { kind: 'cancel', statusUrl: 'u2', reason: 'interrupted' }), state);
    expect(state.running).toBeUndefined();
    expect(state.lastCompleted?.statusUrl).toBe('u1');
  });

  it('an incremental run warns of a type held for the source dropping beyond the threshold from the previous run', () => {
    let state = fold(decide(initialBulkSyncState, start('u1')));
    state = fold(
      decide(state, complete('u1', '2026-01-01T00:00:00Z', { A: tally(100) }, { A: 100, B: 50, C: 10 })),
      state,
    );
    expect(state.lastHeld).toEqual({ A: 100, B: 50, C: 10 });
    state = fold(decide(state, start('u2', '2026-01-01T00:00:00Z')), state);
    // B lost 20 % (deletions), C all of it; A's 10 % is not beyond 0.1; the few lines received are no drop.
    const events = decide(state, complete('u2', '2026-01-02T00:00:00Z', { A: tally(3) }, { A: 90, B: 40 }));
    expect(events.map((e) => e.type)).toEqual(['BulkSyncCompleted', 'BulkSyncCompletenessWarned']);
    expect(events[0].data).toMatchObject({ held: { A: 90, B: 40 } });
    expect(events[1].data).toMatchObject({
      warnings: [
        { resourceType: 'B', kind: 'held-drop-from-previous', expected: 50, actual: 40 },
        { resourceType: 'C', kind: 'held-drop-from-previous', expected: 10, actual: 0 },
      ],
    });
    state = fold(events, state);
    expect(state.lastHeld).toEqual({ A: 90, B: 40 });
    // The next incremental run compares with this one's totals; one without totals (Kafka) compares nothing,
    // and the run after it has no previous totals to compare with.
    state = fold(decide(state, start('u3', '2026-01-02T00:00:00Z')), state);
    expect(decide(state, complete('u3', '2026-01-03T00:00:00Z', {}, { A: 90, B: 40 }))).toHaveLength(1);
    const noTotals = decide(state, complete('u3', '2026-01-03T00:00:00Z', {}));
    expect(noTotals).toHaveLength(1);
    state = fold(noTotals, state);
    expect(state.lastHeld).toBeUndefined();
    state = fold(decide(state, start('u4', '2026-01-03T00:00:00Z')), state);
    expect(decide(state, complete('u4', '2026-01-04T00:00:00Z', {}, { A: 1 }))).toHaveLength(1);
  });

  it('a full run is compared with the previous full export, not with held totals; events without held still fold', () => {
    let state = fold([
      {
        type: 'BulkSyncStarted',
        data: { source: 's', server: 'x', kickoffUrl: 'x', statusUrl: 'u1', sink: 'store' },
      },
      // Recorded before held existed: no held field.
      {
        type: 'BulkSyncCompleted',
        data: {
          source: 's',
          server: 'x',
          statusUrl: 'u1',
          transactionTime: '2026-01-01T00:00:00Z',
          tallies: {},
        },
      },
    ]);
    expect(state.lastHeld).toBeUndefined();
    state = fold(decide(state, start('u2')), state);
    state = fold(decide(state, complete('u2', '2026-01-02T00:00:00Z', { A: tally(100) }, { A: 100 })), state);
    state = fold(decide(state, start('u3')), state);
    expect(decide(state, complete('u3', '2026-01-03T00:00:00Z', { A: tally(100) }, { A: 10 }))).toHaveLength(
      1,
    );
  });
});
