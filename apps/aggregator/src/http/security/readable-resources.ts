import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { grantsOf, type Permission, type ScopeGrants, withinConstraints } from '@fa/access';
import { r4SearchParameters } from '@fa/fhir';
import { AccessDeniedError } from './access-denied';
import type { Principal } from './access-policy';
import { LOCAL_PRINCIPAL } from './auth-settings';

type AnyResource = { resourceType: string } & Record<string, unknown>;

/**
 * What of an answer across types ($everything, _include/_revinclude, _history, lineage) the principal may
 * receive: the types its scopes grant read on, and within a granular scope's type the resources matching its
 * constraint. Counts what it withholds so the answer can say so in an OperationOutcome entry.
 */
export class ReadableResources {
  private readonly grants: ScopeGrants;
  private readonly withheld = new Map<string, number>();
  private limitedTo?: string[];
  /** Every type whole: nothing to check. */
  readonly everything: boolean;

  constructor(
    principal: Principal | undefined,
    private readonly permission: Permission = 'r',
  ) {
    this.grants = grantsOf((principal ?? LOCAL_PRINCIPAL).scopes);
    this.everything = this.grants.types(permission) === '*';
  }

  /** The types to ask the store for: the requested ones (or all) narrowed to those granted; undefined: all. */
  types(requested: readonly string[] | undefined): string[] | undefined {
    const granted = this.grants.types(this.permission);
    if (granted === '*') return requested ? [...requested] : undefined;
    const kept = requested ? requested.filter((t) => this.grants.allows(t, this.permission)) : granted;
    for (const t of requested ?? []) if (!kept.includes(t)) this.withhold(t, 0);
    if (!requested) this.limitedTo = kept;
    return kept;
  }

  /** A resource (or, without a body, a deleted version of the type) the principal may receive. */
  allows(resourceType: string, resource: unknown): boolean {
    if (this.everything) return true;
    const constraints = this.grants.constraints(resourceType, this.permission);
    const ok =
      constraints === 'all' ||
      (constraints.length > 0 &&
        resource !== null &&
        resource !== undefined &&
        withinConstraints(resource as AnyResource, constraints, r4SearchParameters()));
    if (!ok) this.withhold(resourceType);
    return ok;
  }

  filter<T extends { resourceType: string; resource?: unknown }>(items: readonly T[]): T[] {
    return this.everything
      ? [...items]
      : items.filter((item) => this.allows(item.resourceType, item.resource));
  }

  /** The warning naming what was withheld, or nothing. */
  issue(): OperationOutcomeIssue | undefined {
    if (this.withheld.size === 0 && !this.limitedTo) return undefined;
    const parts = [...this.withheld].map(([type, n]) => (n > 0 ? `${n} ${type}` : type));
    const said = [
      ...(this.limitedTo
        ? [`Limited to the types the token may read (${this.limitedTo.join(', ') || 'none'})`]
        : []),
      ...(parts.length > 0 ? [`withheld: ${parts.join(', ')}`] : []),
    ];
    return {
      severity: 'warning',
      code: 'suppressed',
      diagnostics: `${said.join('; ')} — the token's scopes do not grant read on the rest`,
    };
  }

  /** `outcome` with the withheld warning added (or the warning alone). */
  outcome(outcome: OperationOutcome | undefined): OperationOutcome | undefined {
    const issue = this.issue();
    if (!issue) return outcome;
    return { resourceType: 'OperationOutcome', issue: [...(outcome?.issue ?? []), issue] };
  }

  private withhold(type: string, count = 1): void {
    this.withheld.set(type, (this.withheld.get(type) ?? 0) + count);
  }
}

/**
 * The search parameters a granular scope adds to a search of its type (`category=laboratory`); several granular
 * scopes of the type on one parameter become one OR list. Undefined when the type is granted whole.
 */
export function grantedSearchConstraint(
  principal: Principal | undefined,
  resourceType: string,
): Record<string, string> | undefined {
  const constraints = grantsOf((principal ?? LOCAL_PRINCIPAL).scopes).constraints(resourceType, 's');
  if (constraints === 'all') return undefined;
  const names = new Set(constraints.flatMap((c) => Object.keys(c)));
  if (constraints.some((c) => Object.keys(c).length !== 1) || names.size !== 1)
    throw AccessDeniedError.forbidden(
      `The token's granular scopes on ${resourceType} (${constraints.map((c) => new URLSearchParams(c as Record<string, string>).toString()).join('; ')}) cannot be applied as one search; request a token with one of them`,
    );
  const [name] = names;
  return { [name]: constraints.map((c) => c[name]).join(',') };
}
