import { randomUUID } from 'node:crypto';
import type { EventStore } from '@fa/event-store';
import {
  asIdentityEvent,
  DecidedBy,
  GOLDEN_PATIENT_CREATED,
  identityStreamId,
  IdentityEvent,
  PATIENT_LINKED,
} from '../../domain/identity-events';
import { foldGoldenPatient, GoldenPatientState } from '../../domain/identity-state';

const matcher: DecidedBy = { kind: 'matcher', version: 'test/1' };

/** Test data only: a golden patient's stream as the matcher writes it, created with these members. */
export async function seedGoldenPatient(
  store: EventStore,
  goldenId: string,
  members: string[],
): Promise<void> {
  const events: IdentityEvent[] = [
    {
      type: GOLDEN_PATIENT_CREATED,
      data: { goldenId, firstSourcePatientId: members[0], decidedBy: matcher },
    },
    ...members.map((sourcePatientId): IdentityEvent => matcherLink(goldenId, sourcePatientId)),
  ];
  await store.append(
    identityStreamId(goldenId),
    events.map((e) => ({ id: randomUUID(), ...e })),
    'no_stream',
  );
}

export function matcherLink(goldenId: string, sourcePatientId: string): IdentityEvent {
  return {
    type: PATIENT_LINKED,
    data: {
      goldenId,
      sourcePatientId,
      source: 'hospital-a',
      matchResult: 'MATCH',
      manual: false,
      rule: 'auto-match',
      decidedBy: matcher,
    },
  };
}

/** A golden patient as its stream tells it now. */
export async function goldenPatientNow(store: EventStore, goldenId: string): Promise<GoldenPatientState> {
  const recorded = await store.readStream(identityStreamId(goldenId));
  return foldGoldenPatient(
    goldenId,
    recorded.flatMap((e) => asIdentityEvent(e) ?? []),
  );
}

/** Runs `meanwhile` (another writer) once, just before the first appendMany of the real store. */
export function appendsAfter(store: EventStore, meanwhile: () => Promise<unknown>): EventStore {
  let ran = false;
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'appendMany') return Reflect.get(target, property, receiver) as unknown;
      return async (...args: Parameters<EventStore['appendMany']>) => {
        if (!ran) {
          ran = true;
          await meanwhile();
        }
        return target.appendMany(...args);
      };
    },
  });
}

/**
 * Holds every appendMany of the real store until `parties` callers have reached it, so concurrent commands
 * all read before any writes: the interleaving the tests are about, every time.
 */
export function appendsMeetingAt(store: EventStore, parties: number): EventStore {
  let arrived = 0;
  let release!: () => void;
  const met = new Promise<void>((resolve) => (release = resolve));
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'appendMany') return Reflect.get(target, property, receiver) as unknown;
      return async (...args: Parameters<EventStore['appendMany']>) => {
        if (++arrived >= parties) release();
        await met;
        return target.appendMany(...args);
      };
    },
  });
}
