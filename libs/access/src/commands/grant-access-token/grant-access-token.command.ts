import { Command } from '@nestjs/cqrs';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** What POST /auth/token answers on success (RFC 6749 §5.1, SMART Backend Services). */
export interface AccessTokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
}

export type TokenErrorCode =
  'invalid_request' | 'invalid_client' | 'invalid_grant' | 'invalid_scope' | 'unsupported_grant_type';

/** A refused token request: RFC 6749 §5.2's error, a description saying exactly what was wrong, the status. */
export class TokenRequestError extends Error {
  override readonly name = 'TokenRequestError';
  constructor(
    readonly error: TokenErrorCode,
    readonly description: string,
    /** The client the assertion claimed to be, when it could be read (for the audit). */
    readonly clientId?: string,
  ) {
    super(description);
  }

  /** 401 for a client that failed to authenticate (RFC 6749 §5.2), else 400. */
  get status(): 400 | 401 {
    return this.error === 'invalid_client' ? 401 : 400;
  }
}

/**
 * A client_credentials grant with a private_key_jwt client assertion (RFC 7523, SMART Backend Services).
 * `form` is the urlencoded body; `tokenUrl` the URL the request reached (the assertion's required `aud`);
 * `audience` the FHIR base the token is for.
 */
export class GrantAccessTokenCommand extends Command<AccessTokenResponse> {
  constructor(
    readonly form: Record<string, unknown>,
    readonly tokenUrl: string,
    readonly audience: string,
  ) {
    super();
  }
}
