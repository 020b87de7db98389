import { DynamicModule, Module } from '@nestjs/common';
import { ClientRateLimiter } from './client-rate-limiter';
import { ClientRegistryReader } from './client-registry.reader';
import { ChangeClientRegistryHandler } from './commands/change-client-registry/change-client-registry.handler';
import { GrantAccessTokenHandler } from './commands/grant-access-token/grant-access-token.handler';
import type { RateLimit } from './domain/token-bucket';
import { ListClientsHandler } from './queries/list-clients/list-clients.handler';
import { AccessTokens } from './tokens/access-tokens';
import { AssertionReplayGuard } from './tokens/assertion-replay';
import { SigningKeyring } from './tokens/signing-keyring';

export interface AccessOptions {
  /** Where access tokens are signed (default: a key in memory, for tests and benches). */
  keyring?: SigningKeyring;
  /** Access-token lifetime in seconds (at most 300). */
  tokenLifetimeSeconds?: number;
  /** Per-client token bucket; none: no limit. */
  rateLimit?: RateLimit;
}

/**
 * Who may do what: the client registry (events), SMART Backend Services tokens and the per-client rate limit.
 * Needs CqrsModule and EventStoreModule from the host application.
 */
@Module({})
export class AccessModule {
  static forRoot(options: AccessOptions = {}): DynamicModule {
    const keyring = options.keyring ?? SigningKeyring.inMemory();
    return {
      module: AccessModule,
      providers: [
        ClientRegistryReader,
        AssertionReplayGuard,
        ChangeClientRegistryHandler,
        GrantAccessTokenHandler,
        ListClientsHandler,
        {
          provide: AccessTokens,
          useValue: new AccessTokens(keyring, options.tokenLifetimeSeconds ?? 300),
        },
        { provide: SigningKeyring, useValue: keyring },
        { provide: ClientRateLimiter, useValue: new ClientRateLimiter(options.rateLimit) },
      ],
      exports: [ClientRegistryReader, AccessTokens, SigningKeyring, ClientRateLimiter],
    };
  }
}
