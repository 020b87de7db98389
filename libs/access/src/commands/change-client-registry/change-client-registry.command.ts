import { Command } from '@nestjs/cqrs';
import type { RegisteredClient } from '../../domain/client-registry';

/**
 * Registers a client, rotates its keys or revokes it (`cli clients …`, `POST /admin/clients…`). `scope` is
 * the space-separated allowed scopes of a registration (v1 scopes are kept in their v2 form). Throws
 * ClientRegistryRejected (or ScopeError) saying what is wrong.
 */
export type ClientRegistryChange =
  | { kind: 'register'; clientId: string; scope: string; jwks: unknown; jwksUrl?: string; by: string }
  | { kind: 'rotate-keys'; clientId: string; jwks: unknown; jwksUrl?: string; by: string }
  | { kind: 'revoke'; clientId: string; reason?: string; by: string };

export class ChangeClientRegistryCommand extends Command<RegisteredClient> {
  constructor(readonly change: ClientRegistryChange) {
    super();
  }
}
