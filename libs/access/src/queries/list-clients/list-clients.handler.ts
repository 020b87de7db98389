import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { ClientRegistryReader } from '../../client-registry.reader';
import type { RegisteredClient } from '../../domain/client-registry';
import { ListClientsQuery } from './list-clients.query';

@QueryHandler(ListClientsQuery)
export class ListClientsHandler implements IQueryHandler<ListClientsQuery, RegisteredClient[]> {
  constructor(private readonly registry: ClientRegistryReader) {}

  async execute({ asOf }: ListClientsQuery): Promise<RegisteredClient[]> {
    const state = asOf ? await this.registry.asOf(asOf) : await this.registry.current();
    return [...state.clients.values()].sort((a, b) => a.clientId.localeCompare(b.clientId));
  }
}
