import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import {
  AccessTokens,
  ClientRateLimiter,
  ClientRegistryReader,
  grantsOf,
  InvalidAccessTokenError,
  type Permission,
} from '@fa/access';
import { AccessDeniedError } from './access-denied';
import { ACCESS_POLICY, type AccessPolicy, type Principal } from './access-policy';
import { AuthSettings, LOCAL_PRINCIPAL } from './auth-settings';

/** How long a fold of the client registry may be reused to refuse the tokens of a client revoked since. */
const REGISTRY_MAX_AGE_MS = 1000;

const PERMISSION_NAMES: Record<Permission, string> = {
  c: 'create',
  r: 'read',
  u: 'update',
  d: 'delete',
  s: 'search',
};

/**
 * The one authorization check, global: reads the route's @Access policy, lets public routes through, checks the
 * bearer token (ours, unexpired, its client not revoked), takes a request from the client's token bucket and
 * checks the token's scopes against the policy. Sets `request.principal` for the routes and the audit. A route
 * without a policy is refused (and fails the route-table test).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly settings: AuthSettings,
    private readonly tokens: AccessTokens,
    private readonly registry: ClientRegistryReader,
    private readonly limiter: ClientRateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const policy = this.reflector.get<AccessPolicy | undefined>(ACCESS_POLICY, context.getHandler());
    const request = context.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const response = context.switchToHttp().getResponse<Response>();
    if (!policy)
      throw AccessDeniedError.forbidden(`${request.method} ${request.path} declares no access policy`);
    if ('public' in policy) return true;
    const principal = this.settings.enabled ? await this.authenticate(request, response) : LOCAL_PRINCIPAL;
    request.principal = principal;
    const type: unknown = request.params?.type;
    authorize(policy, principal, typeof type === 'string' ? type : undefined);
    return true;
  }

  private async authenticate(request: Request, response: Response): Promise<Principal> {
    const header = request.headers.authorization;
    const token = header && /^Bearer [\w.~+/-]+=*$/i.test(header) ? header.slice(7) : undefined;
    if (!token) {
      response.setHeader('WWW-Authenticate', 'Bearer realm="fhir-aggregator"');
      throw AccessDeniedError.unauthenticated(
        header
          ? 'The Authorization header is not "Bearer <access token>"'
          : 'An access token is required: Authorization: Bearer <token> (SMART Backend Services, POST /auth/token)',
      );
    }
    let principal: Principal;
    try {
      const holder = await this.tokens.verify(token);
      const client = (await this.registry.current(REGISTRY_MAX_AGE_MS)).clients.get(holder.clientId);
      if (!client || client.revokedAt)
        throw new InvalidAccessTokenError(
          `client ${holder.clientId} was revoked; its tokens are no longer accepted`,
        );
      principal = { clientId: holder.clientId, scopes: holder.scopes };
    } catch (error) {
      if (!(error instanceof InvalidAccessTokenError)) throw error;
      response.setHeader(
        'WWW-Authenticate',
        `Bearer realm="fhir-aggregator", error="invalid_token", error_description="${error.message.replace(/"/g, "'")}"`,
      );
      throw AccessDeniedError.unauthenticated(error.message);
    }
    const taken = this.limiter.take(principal.clientId);
    if (!taken.allowed) {
      response.setHeader('Retry-After', String(taken.retryAfterSeconds));
      throw AccessDeniedError.throttled(
        `Client ${principal.clientId} is over its rate limit (${this.limiter.limit!.perSecond}/s, burst ${this.limiter.limit!.burst}); retry after ${taken.retryAfterSeconds} s`,
      );
    }
    return principal;
  }
}

/** 403 unless the principal's scopes grant what the policy asks for. */
export function authorize(policy: AccessPolicy, principal: Principal, typeParam: string | undefined): void {
  if ('public' in policy) return;
  const grants = grantsOf(principal.scopes);
  if ('scope' in policy) {
    if (!grants.hasOwn(policy.scope))
      throw AccessDeniedError.forbidden(
        `This needs the scope ${policy.scope}, which the token was not granted`,
      );
    return;
  }
  const type = policy.resource === ':type' ? (typeParam ?? '') : policy.resource;
  const allowed =
    type === '*' ? grants.types(policy.permission).length > 0 : grants.allows(type, policy.permission);
  if (!allowed)
    throw AccessDeniedError.forbidden(
      `The token's scopes do not grant ${PERMISSION_NAMES[policy.permission]} on ${type === '*' ? 'any resource type' : type} (e.g. system/${type}.${policy.permission === 's' ? 'rs' : policy.permission})`,
    );
  // Its own type with the policy's permission, the others with read: each whole (no granular constraint).
  const partial = (policy.reads ?? []).filter(
    (t) => grants.constraints(t, t === type ? policy.permission : 'r') !== 'all',
  );
  if (partial.length > 0)
    throw AccessDeniedError.forbidden(
      `This answer holds ${partial.join(', ')} unfiltered: the token must grant read on each of them whole (e.g. system/${partial[0]}.r)`,
    );
}
