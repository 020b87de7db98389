import { OWN_SCOPES } from '@fa/access';
import type { AggregatorScope, Principal } from './access-policy';

/** Whether tokens are required (AUTH, on unless "off"); shared by the guard, the metadata and the MDM routes. */
export class AuthSettings {
  constructor(readonly enabled: boolean) {}
}

/** The caller with AUTH=off: every scope, named so that records show no token was checked. */
export const LOCAL_PRINCIPAL: Principal = {
  clientId: 'local-auth-off',
  scopes: ['system/*.cruds', ...OWN_SCOPES],
};

/** Our scopes as the routes name them and as the token endpoint grants them: one list (checked by the compiler). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
export const SCOPE_LISTS_AGREE: Same<AggregatorScope, (typeof OWN_SCOPES)[number]> = true;
