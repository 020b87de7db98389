import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { v5 as uuidv5 } from 'uuid';
import { EVENT_STORE, type EventStore, WrongExpectedRevisionError } from '@fa/event-store';
import { isR4ResourceType, r4SearchParameters } from '@fa/fhir';
import { ClientRegistryReader } from '../../client-registry.reader';
import { decide, RegisteredClient, RegistryCommand } from '../../domain/client-registry';
import { checkGranularScope } from '../../domain/granular-scopes';
import { parseScopes } from '../../domain/scopes';
import { CLIENT_REGISTRY_STREAM } from '../../events/access-event';
import { ChangeClientRegistryCommand, ClientRegistryChange } from './change-client-registry.command';

const EVENT_NAMESPACE = 'c0f3b8e4-2d6a-4f0e-9a51-7e2b9d4c6a13';
const ATTEMPTS = 5;

@CommandHandler(ChangeClientRegistryCommand)
export class ChangeClientRegistryHandler implements ICommandHandler<
  ChangeClientRegistryCommand,
  RegisteredClient
> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly registry: ClientRegistryReader,
  ) {}

  async execute({ change }: ChangeClientRegistryCommand): Promise<RegisteredClient> {
    const command = toRegistryCommand(change);
    for (let attempt = 1; ; attempt++) {
      const state = await this.registry.current();
      const events = decide(state, command);
      try {
        await this.store.append(
          CLIENT_REGISTRY_STREAM,
          events.map((event, index) => ({
            id: uuidv5(`${state.revision + 1 + index}|${event.type}|${event.data.clientId}`, EVENT_NAMESPACE),
            type: event.type,
            data: event.data,
          })),
          state.revision < 0 ? 'no_stream' : state.revision,
        );
      } catch (error) {
        // Another change landed first: decide again on the registry as it is now.
        if (error instanceof WrongExpectedRevisionError && attempt < ATTEMPTS) continue;
        throw error;
      }
      return (await this.registry.current()).clients.get(change.clientId)!;
    }
  }
}

function toRegistryCommand(change: ClientRegistryChange): RegistryCommand {
  if (change.kind !== 'register') return change;
  const { scope, ...rest } = change;
  const scopes = parseScopes(scope, isR4ResourceType);
  for (const s of scopes)
    if (s.kind === 'resource' && s.constraint) checkGranularScope(s, r4SearchParameters());
  return { ...rest, scopes: scopes.map((s) => s.text) };
}
