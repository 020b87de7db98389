import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, type EventStore, type RecordedEvent } from '@fa/event-store';
import { EMPTY_REGISTRY, evolve, RegistryState } from './domain/client-registry';
import { asAccessEvent, CLIENT_REGISTRY_STREAM } from './events/access-event';

/**
 * The client registry folded from its stream. `current()` reads only the events after those already folded
 * (one indexed query, usually empty), so a registration or revocation counts from the next token request on,
 * in every process; `asOf(t)` folds the events recorded by t: who could obtain which scopes then.
 */
@Injectable()
export class ClientRegistryReader {
  private state: RegistryState = EMPTY_REGISTRY;
  private readAtMs = 0;
  private reading?: Promise<RegistryState>;

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /** The registry now; with maxAgeMs, a fold at most that old may answer (the access-token check uses 1 s). */
  current(maxAgeMs = 0): Promise<RegistryState> {
    if (maxAgeMs > 0 && Date.now() - this.readAtMs < maxAgeMs) return Promise.resolve(this.state);
    this.reading ??= this.catchUp().finally(() => (this.reading = undefined));
    return this.reading;
  }

  async asOf(at: Date): Promise<RegistryState> {
    const events = await this.store.readStream(CLIENT_REGISTRY_STREAM);
    return fold(
      EMPTY_REGISTRY,
      events.filter((e) => e.recordedAt.getTime() <= at.getTime()),
    );
  }

  private async catchUp(): Promise<RegistryState> {
    const startedAt = Date.now();
    const events = await this.store.readStream(CLIENT_REGISTRY_STREAM, {
      fromRevision: this.state.revision + 1,
    });
    this.state = fold(this.state, events);
    this.readAtMs = startedAt;
    return this.state;
  }
}

function fold(state: RegistryState, events: RecordedEvent[]): RegistryState {
  let folded = state;
  for (const event of events) {
    const access = asAccessEvent(event);
    folded = access
      ? evolve(folded, access, event.recordedAt, event.streamRevision)
      : { ...folded, revision: event.streamRevision };
  }
  return folded;
}
