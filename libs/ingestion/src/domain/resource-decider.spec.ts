import type { Resource } from 'fhir/r4';
import {
  decide,
  evolve,
  INITIAL_RESOURCE_STATE,
  ReceivedLineage,
  ResourceCommand,
  ResourceDecision,
  ResourceEvent,
  ResourceState,
} from './resource-decider';
import type { NormalizedResource } from './normalize-resource';

const STREAM = 'Patient-1b4e28ba-2fa1-5ed2-883f-0e2f6b0a1c11';
const lineage: ReceivedLineage = {
  source: 'hospital-a',
  sourceResourceType: 'Patient',
  sourceId: 'p1',
  origin: { file: { path: 'patients.ndjson', line: 1 } },
  receivedAt: '2026-01-01T00:00:00.000Z',
  ingestionInstance: 'test',
};

function version(contentHash: string, sourceLastUpdated?: string): NormalizedResource {
  const resource = { resourceType: 'Patient', id: 'our-id', gender: contentHash } as Resource;
  return {
    resourceType: 'Patient',
    id: 'our-id',
    sourceId: 'p1',
    resource,
    contentHash,
    sourceVersionId: undefined,
    sourceLastUpdated,
    transformations: [{ name: 'id-namespaced', version: '1' }],
    validationIssues: [],
  } as NormalizedResource;
}

const record = (contentHash: string, sourceLastUpdated?: string): ResourceCommand => ({
  kind: 'record',
  streamId: STREAM,
  resource: version(contentHash, sourceLastUpdated),
  lineage,
});
const remove: ResourceCommand = {
  kind: 'delete',
  streamId: STREAM,
  resourceType: 'Patient',
  id: 'our-id',
  lineage,
};

/** The one event a decision holds. */
function eventOf(decision: ResourceDecision): ResourceEvent {
  expect(decision.events).toHaveLength(1);
  return decision.events[0]!;
}

/** Given the events so far (folded with evolve), when a command arrives, then these events. */
function given(...commands: ResourceCommand[]): { state: ResourceState; events: ResourceEvent[] } {
  let state = INITIAL_RESOURCE_STATE;
  const events: ResourceEvent[] = [];
  for (const command of commands) {
    for (const event of decide(state, command).events) {
      events.push(event);
      state = evolve(state, event);
    }
  }
  return { state, events };
}

describe('resource decider (decide / evolve)', () => {
  it('new: the first version of a resource is recorded and becomes current', () => {
    const decision = decide(INITIAL_RESOURCE_STATE, record('h1', '2025-01-01T00:00:00Z'));
    expect(decision.outcome).toBe('recorded');
    const event = eventOf(decision);
    expect(event.type).toBe('ResourceVersionRecorded');
    expect(event.metadata).toMatchObject({
      contentHash: 'h1',
      supersedesCurrent: true,
      latestSourceLastUpdated: '2025-01-01T00:00:00Z',
      source: 'hospital-a',
      origin: lineage.origin,
    });
    expect(event.data).toEqual({ resourceType: 'Patient', id: 'our-id', resource: version('h1').resource });
    expect(evolve(INITIAL_RESOURCE_STATE, event)).toEqual({
      revision: 0,
      contentHash: 'h1',
      deleted: false,
      latestSourceLastUpdated: '2025-01-01T00:00:00Z',
    });
  });

  it('unchanged: an exact repeat of the current content records nothing', () => {
    const { state } = given(record('h1'));
    expect(decide(state, record('h1'))).toEqual({ outcome: 'unchanged', events: [] });
  });

  it('changed: different content is a new version with a new id', () => {
    const { state, events } = given(record('h1', '2025-01-01T00:00:00Z'));
    const decision = decide(state, record('h2', '2025-02-01T00:00:00Z'));
    expect(decision.outcome).toBe('recorded');
    expect(eventOf(decision).id).not.toBe(events[0].id);
    expect(eventOf(decision).metadata).toMatchObject({ supersedesCurrent: true, contentHash: 'h2' });
  });

  it('late: a version stamped older than the newest held is history that does not become current', () => {
    const { state } = given(record('h2', '2025-02-01T00:00:00Z'));
    const decision = decide(state, record('h1', '2025-01-01T00:00:00Z'));
    expect(decision.outcome).toBe('recorded');
    expect(eventOf(decision).metadata).toMatchObject({
      supersedesCurrent: false,
      sourceLastUpdated: '2025-01-01T00:00:00Z',
      latestSourceLastUpdated: '2025-02-01T00:00:00Z',
    });
    // The newest stamp stays the bar for the next version.
    const after = evolve(state, eventOf(decision));
    expect(after.latestSourceLastUpdated).toBe('2025-02-01T00:00:00Z');
    expect(eventOf(decide(after, record('h3', '2025-01-15T00:00:00Z'))).metadata.supersedesCurrent).toBe(
      false,
    );
    expect(eventOf(decide(after, record('h3', '2025-03-01T00:00:00Z'))).metadata.supersedesCurrent).toBe(
      true,
    );
  });

  it('a version without a source stamp is never late', () => {
    const { state } = given(record('h1', '2025-02-01T00:00:00Z'));
    const decision = decide(state, record('h2'));
    expect(eventOf(decision).metadata).toMatchObject({
      supersedesCurrent: true,
      latestSourceLastUpdated: '2025-02-01T00:00:00Z',
    });
  });

  it('delete: a held resource gets a ResourceDeleted; unknown or already deleted ones record nothing', () => {
    const { state } = given(record('h1', '2025-01-01T00:00:00Z'));
    const decision = decide(state, remove);
    expect(decision.outcome).toBe('deleted');
    expect(eventOf(decision)).toMatchObject({
      type: 'ResourceDeleted',
      data: { resourceType: 'Patient', id: 'our-id' },
      metadata: { supersedesCurrent: true, latestSourceLastUpdated: '2025-01-01T00:00:00Z' },
    });
    const deleted = evolve(state, eventOf(decision));
    expect(deleted).toEqual({ revision: 1, deleted: true, latestSourceLastUpdated: '2025-01-01T00:00:00Z' });
    expect(decide(deleted, remove)).toEqual({ outcome: 'unchanged', events: [] });
    expect(decide(INITIAL_RESOURCE_STATE, remove)).toEqual({ outcome: 'unchanged', events: [] });
  });

  it('re-create: after a delete, even the content held before is a new version', () => {
    const { state, events } = given(record('h1'), remove);
    const decision = decide(state, record('h1'));
    expect(decision.outcome).toBe('recorded');
    expect(eventOf(decision).id).not.toBe(events[0].id);
    expect(evolve(state, eventOf(decision))).toMatchObject({
      revision: 2,
      deleted: false,
      contentHash: 'h1',
    });
  });

  it('event ids are deterministic: the same content at the same revision always gets the same id', () => {
    const first = given(record('h1'), record('h2'), remove, record('h3'));
    const again = given(record('h1'), record('h2'), remove, record('h3'));
    expect(again.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
    expect(new Set(first.events.map((e) => e.id)).size).toBe(4);
  });

  it("the state after a stream's last event alone equals the fold over the whole stream", () => {
    const { state, events } = given(
      record('h2', '2025-02-01T00:00:00Z'),
      record('h1', '2025-01-01T00:00:00Z'),
      remove,
      record('h4'),
    );
    const last = events[events.length - 1];
    expect(evolve(INITIAL_RESOURCE_STATE, last, events.length - 1)).toEqual(state);
  });
});
