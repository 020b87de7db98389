import { CLIENT_KEYS_ROTATED, CLIENT_REGISTERED, CLIENT_REVOKED } from '../events/access-event';
import {
  ClientRegistryRejected,
  decide,
  EMPTY_REGISTRY,
  evolve,
  keyFor,
  RegistryState,
  validJwks,
} from './client-registry';

const jwks = { keys: [{ kty: 'EC', crv: 'P-384', kid: 'k1', x: 'x', y: 'y' }] };
const at = new Date('2026-01-01T00:00:00Z');

function apply(state: RegistryState, command: Parameters<typeof decide>[1], when = at): RegistryState {
  return decide(state, command).reduce((s, e) => evolve(s, e, when, s.revision + 1), state);
}

describe('client registry decide / evolve', () => {
  const registered = apply(EMPTY_REGISTRY, {
    kind: 'register',
    clientId: 'c1',
    scopes: ['system/*.rs'],
    jwks,
    by: 'me',
  });

  it('registers, rotates keys and revokes', () => {
    expect(
      decide(EMPTY_REGISTRY, { kind: 'register', clientId: 'c1', scopes: ['system/*.rs'], jwks, by: 'me' })[0]
        .type,
    ).toBe(CLIENT_REGISTERED);
    expect(registered.clients.get('c1')).toMatchObject({ scopes: ['system/*.rs'], registeredAt: at });
    const rotated = apply(registered, {
      kind: 'rotate-keys',
      clientId: 'c1',
      jwks: { keys: [{ ...jwks.keys[0], kid: 'k2' }] },
      by: 'me',
    });
    expect(rotated.clients.get('c1')!.jwks.keys[0].kid).toBe('k2');
    expect(rotated.clients.get('c1')!.keysRotatedAt).toEqual(at);
    expect(decide(registered, { kind: 'rotate-keys', clientId: 'c1', jwks, by: 'me' })[0].type).toBe(
      CLIENT_KEYS_ROTATED,
    );
    const revoked = apply(
      rotated,
      { kind: 'revoke', clientId: 'c1', by: 'me' },
      new Date('2026-02-01T00:00:00Z'),
    );
    expect(revoked.clients.get('c1')!.revokedAt).toEqual(new Date('2026-02-01T00:00:00Z'));
    expect(revoked.revision).toBe(2);
    expect(
      decide(registered, { kind: 'revoke', clientId: 'c1', by: 'x', reason: 'r' }).map((e) => e.type),
    ).toEqual([CLIENT_REVOKED]);
  });

  it.each([
    [{ kind: 'register', clientId: 'c1', scopes: ['system/*.rs'], jwks, by: 'me' }, 'already-registered'],
    [{ kind: 'rotate-keys', clientId: 'nobody', jwks, by: 'me' }, 'unknown-client'],
    [{ kind: 'register', clientId: 'bad id!', scopes: ['system/*.rs'], jwks, by: 'me' }, 'invalid'],
    [{ kind: 'register', clientId: 'c2', scopes: [], jwks, by: 'me' }, 'invalid'],
  ] as const)('refuses %j: %s', (command, reason) => {
    expect(() => decide(registered, command as Parameters<typeof decide>[1])).toThrow(
      expect.objectContaining({ reason }) as unknown as ClientRegistryRejected,
    );
  });

  it('never reuses a revoked id', () => {
    const revoked = apply(registered, { kind: 'revoke', clientId: 'c1', by: 'me' });
    expect(() =>
      decide(revoked, { kind: 'register', clientId: 'c1', scopes: ['system/*.rs'], jwks, by: 'me' }),
    ).toThrow(/never reused/);
  });

  it('accepts public RS384 / ES384 keys with a kid only', () => {
    expect(() => validJwks({ keys: [] })).toThrow(/at least one key/);
    expect(() => validJwks({ keys: [{ kty: 'EC', crv: 'P-384' }] })).toThrow(/no kid/);
    expect(() => validJwks({ keys: [{ kty: 'oct', kid: 'a' }] })).toThrow(/kty must be RSA or EC/);
    expect(() => validJwks({ keys: [{ kty: 'RSA', kid: 'a', d: 'secret' }] })).toThrow(
      /private key material/,
    );
    expect(() => validJwks({ keys: [{ kty: 'RSA', kid: 'a', alg: 'HS256' }] })).toThrow(
      /alg HS256 is not one of RS384, ES384/,
    );
    expect(() => validJwks({ keys: [{ kty: 'EC', kid: 'a', crv: 'P-256' }] })).toThrow(/P-384/);
    expect(() =>
      validJwks({
        keys: [
          { kty: 'RSA', kid: 'a' },
          { kty: 'RSA', kid: 'a' },
        ],
      }),
    ).toThrow(/given twice/);
  });

  it('matches an assertion key by kid and its algorithm family', () => {
    const client = registered.clients.get('c1')!;
    expect(keyFor(client, 'k1', 'ES384')).toMatchObject({ kid: 'k1' });
    expect(keyFor(client, 'k1', 'RS384')).toMatch(/is a EC key; the assertion says RS384/);
    expect(keyFor(client, 'nope', 'ES384')).toMatch(/no registered key with kid "nope"/);
  });
});
