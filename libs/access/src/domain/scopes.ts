/**
 * SMART App Launch 2.x scopes as a backend service holds them: `system/<Type|*>.<cruds>[?param=value]` (v2),
 * `system/<Type|*>.read|write|*` (v1, mapped to v2 when parsed), and the scopes of our own
 * (`system/fhir-aggregator.<name>`). Pure: parsing, coverage (is a requested scope within a registered one)
 * and the access a set of granted scopes gives.
 */

/** SMART v2 permission letters, in the order SMART requires them to be written. */
export const PERMISSIONS = ['c', 'r', 'u', 'd', 's'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Our own scopes, beyond SMART's resource scopes (the same list as the routes' AggregatorScope). */
export const OWN_SCOPES = [
  'system/fhir-aggregator.admin',
  'system/fhir-aggregator.mdm',
  'system/fhir-aggregator.audit',
  'system/fhir-aggregator.review',
  'system/fhir-aggregator.analytics',
] as const;
export type OwnScopeName = (typeof OWN_SCOPES)[number];

export interface ResourceScope {
  readonly kind: 'resource';
  /** A resource type, or '*' for every type. */
  readonly type: string;
  readonly permissions: ReadonlySet<Permission>;
  /** A granular scope's search constraint (`?category=laboratory`): parameter → value, all must hold. */
  readonly constraint?: Readonly<Record<string, string>>;
  /** The scope in SMART v2 form. */
  readonly text: string;
}
export interface OwnScope {
  readonly kind: 'own';
  readonly text: OwnScopeName;
}
export type Scope = ResourceScope | OwnScope;

export class ScopeError extends Error {
  override readonly name = 'ScopeError';
  constructor(
    readonly scope: string,
    reason: string,
  ) {
    super(`scope ${JSON.stringify(scope.slice(0, 100))}: ${reason}`);
  }
}

const V1_PERMISSIONS: Record<string, string> = { read: 'rs', write: 'cud', '*': 'cruds' };
const RESOURCE_SCOPE = /^system\/(\*|[A-Z][A-Za-z]{0,63})\.([a-z*]{1,5})(?:\?(.{1,256}))?$/;
const TOKEN_VALUE = /^[^\s&=|]{1,128}(\|[^\s&=|]{1,128})?$/;

/**
 * One scope, v1 mapped to v2 (`system/*.read` → `system/*.rs`). `isResourceType` tells a FHIR R4 type from
 * anything else. Throws ScopeError naming what is wrong.
 */
export function parseScope(text: string, isResourceType: (type: string) => boolean): Scope {
  if ((OWN_SCOPES as readonly string[]).includes(text)) return { kind: 'own', text: text as OwnScopeName };
  if (/^(patient|user)\//.test(text))
    throw new ScopeError(text, 'a backend service is granted system/ scopes only');
  if (text.startsWith('system/fhir-aggregator.'))
    throw new ScopeError(text, `not one of our scopes (${OWN_SCOPES.join(', ')})`);
  const match = RESOURCE_SCOPE.exec(text);
  if (!match)
    throw new ScopeError(text, 'not system/<Type|*>.<cruds> (SMART v2) or system/<Type|*>.read|write|* (v1)');
  const [, type, letters, query] = match;
  if (type !== '*' && !isResourceType(type))
    throw new ScopeError(text, `${type} is not a FHIR R4 resource type`);
  const v2 = V1_PERMISSIONS[letters] ?? letters;
  if (V1_PERMISSIONS[letters] && query)
    throw new ScopeError(text, 'a v1 scope (.read, .write, .*) takes no ?parameter; use the v2 form');
  let at = 0;
  for (const letter of v2) {
    const index = PERMISSIONS.indexOf(letter as Permission, at);
    if (index < 0) throw new ScopeError(text, 'permissions are a subset of "cruds" in that order');
    at = index + 1;
  }
  const permissions = new Set(v2.split('') as Permission[]);
  let constraint: Record<string, string> | undefined;
  if (query) {
    if (type === '*') throw new ScopeError(text, 'a granular ?parameter needs a resource type, not *');
    constraint = {};
    for (const [name, value] of new URLSearchParams(query)) {
      if (!/^[a-z][a-z0-9-]{0,63}$/.test(name) || !TOKEN_VALUE.test(value))
        throw new ScopeError(text, 'a granular scope is ?<token parameter>=<code> or <system>|<code>');
      if (constraint[name] !== undefined) throw new ScopeError(text, `${name} is given twice`);
      constraint[name] = value;
    }
  }
  const suffix = constraint ? `?${new URLSearchParams(constraint).toString()}` : '';
  return { kind: 'resource', type, permissions, constraint, text: `system/${type}.${v2}${suffix}` };
}

/** A space-separated scope parameter, parsed and de-duplicated; empty is an error. */
export function parseScopes(text: string, isResourceType: (type: string) => boolean): Scope[] {
  const items = text.split(' ').filter(Boolean);
  if (items.length === 0) throw new ScopeError(text, 'no scope given');
  const byText = new Map<string, Scope>();
  for (const item of items) {
    const scope = parseScope(item, isResourceType);
    byText.set(scope.text, scope);
  }
  return [...byText.values()];
}

/** Whether a requested scope is within a registered one (same or wider type, permissions and constraint). */
export function covers(registered: Scope, requested: Scope): boolean {
  if (registered.kind === 'own' || requested.kind === 'own') return registered.text === requested.text;
  if (registered.type !== '*' && registered.type !== requested.type) return false;
  for (const p of requested.permissions) if (!registered.permissions.has(p)) return false;
  if (!registered.constraint) return true;
  if (!requested.constraint) return false;
  return Object.entries(registered.constraint).every(
    ([name, value]) => requested.constraint![name] === value,
  );
}

/** The requested scopes none of the registered ones covers (empty: all may be granted). */
export function notCovered(registered: readonly Scope[], requested: readonly Scope[]): Scope[] {
  return requested.filter((r) => !registered.some((g) => covers(g, r)));
}

/**
 * What a token's granted scopes allow: per resource type and permission, nothing, everything, or only the
 * resources matching one of the granular constraints.
 */
export class ScopeGrants {
  private readonly resources: ResourceScope[];
  private readonly own: ReadonlySet<string>;

  constructor(readonly scopes: readonly Scope[]) {
    this.resources = scopes.filter((s): s is ResourceScope => s.kind === 'resource');
    this.own = new Set(scopes.filter((s) => s.kind === 'own').map((s) => s.text));
  }

  hasOwn(scope: string): boolean {
    return this.own.has(scope);
  }

  /** Any access at all to the type with the permission (perhaps constrained). */
  allows(type: string, permission: Permission): boolean {
    return this.resources.some((s) => (s.type === '*' || s.type === type) && s.permissions.has(permission));
  }

  /**
   * 'all' when a scope grants the whole type; else the constraints of which a resource must match one (an
   * empty list: no access).
   */
  constraints(type: string, permission: Permission): 'all' | Readonly<Record<string, string>>[] {
    const matching = this.resources.filter(
      (s) => (s.type === '*' || s.type === type) && s.permissions.has(permission),
    );
    if (matching.some((s) => !s.constraint)) return 'all';
    return matching.map((s) => s.constraint!);
  }

  /** '*' when every type is granted whole; else the types with any grant. */
  types(permission: Permission): '*' | string[] {
    const granting = this.resources.filter((s) => s.permissions.has(permission));
    if (granting.some((s) => s.type === '*' && !s.constraint)) return '*';
    return [...new Set(granting.map((s) => s.type).filter((t) => t !== '*'))].sort();
  }
}
