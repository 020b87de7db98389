import { Query } from '@nestjs/cqrs';
import type { RegisteredClient } from '../../domain/client-registry';

/** The registered clients (revoked ones too, with when) now or as of an instant, by client id. */
export class ListClientsQuery extends Query<RegisteredClient[]> {
  constructor(readonly asOf?: Date) {
    super();
  }
}
