import { ClaimFingerprint, ClaimLineKey, INACTIVE_STATUSES, REPEAT_MODIFIERS } from './claim-fingerprint';

export type DuplicateKind = 'exact' | 'suspect';

export type DuplicateRule =
  /** Medicare professional rule: patient, billing provider, from/through, codes + modifiers, billed amount. */
  | 'exact-professional'
  /** Institutional: patient, provider, from/through, type of bill, total charges (and the same lines). */
  | 'exact-institutional'
  /** Same patient and provider, same or overlapping dates, a service line in common. */
  | 'suspect-same-provider-overlap'
  /** Same patient, same date of service and service line, another provider. */
  | 'suspect-other-provider-same-day';

export interface DuplicateMatch {
  kind: DuplicateKind;
  rule: DuplicateRule;
  matchedFields: string[];
}

/**
 * Whether `claim` duplicates `earlier`, both of the same golden patient (the caller's promise). Pure. Not
 * duplicates: the same claim (a later version is a status change), a cancelled or entered-in-error claim, an
 * adjustment or replacement of the other (related prior / replaces), and repeats a modifier justifies (59, 76,
 * 77, 91, X{EPSU}; LT vs RT) or different units (their lines differ, so they never overlap).
 */
export function compareClaims(
  earlier: ClaimFingerprint,
  claim: ClaimFingerprint,
): DuplicateMatch | undefined {
  if (earlier.claimId === claim.claimId) return undefined;
  if (INACTIVE_STATUSES.has(earlier.status) || INACTIVE_STATUSES.has(claim.status)) return undefined;
  if (earlier.replaces.includes(claim.claimId) || claim.replaces.includes(earlier.claimId)) return undefined;
  const sameProvider = earlier.provider === claim.provider;
  if (sameProvider && earlier.from === claim.from && earlier.through === claim.through) {
    const sameLines = sameMultiset(earlier.lines.map(exactKey), claim.lines.map(exactKey));
    const sameBilled = earlier.billed !== undefined && earlier.billed === claim.billed;
    if (sameLines && sameBilled) {
      if (claim.type === 'institutional' && earlier.type === 'institutional') {
        if (earlier.typeOfBill === claim.typeOfBill) {
          return {
            kind: 'exact',
            rule: 'exact-institutional',
            matchedFields: ['patient', 'provider', 'from', 'through', 'typeOfBill', 'lines', 'billed'],
          };
        }
      } else if (earlier.type === claim.type) {
        return {
          kind: 'exact',
          rule: 'exact-professional',
          matchedFields: ['patient', 'provider', 'from', 'through', 'lines', 'billed'],
        };
      }
    }
  }
  const shared = sharedLines(earlier, claim, sameProvider);
  if (shared.length === 0) return undefined;
  const procedures = [...new Set(shared.map((l) => `procedure:${l.code}`))].sort();
  if (sameProvider) {
    return {
      kind: 'suspect',
      rule: 'suspect-same-provider-overlap',
      matchedFields: ['patient', 'provider', 'dates-overlap', ...procedures],
    };
  }
  return {
    kind: 'suspect',
    rule: 'suspect-other-provider-same-day',
    matchedFields: ['patient', 'date-of-service', ...procedures],
  };
}

/** Lines of `claim` that repeat a line of `earlier`: overlapping days (the same day for another provider). */
function sharedLines(
  earlier: ClaimFingerprint,
  claim: ClaimFingerprint,
  sameProvider: boolean,
): ClaimLineKey[] {
  if (!overlaps(earlier, claim)) return [];
  return claim.lines.filter((line) => {
    if (line.modifiers.some((m) => REPEAT_MODIFIERS.has(m))) return false;
    return earlier.lines.some(
      (other) =>
        overlapKey(other) === overlapKey(line) &&
        (sameProvider ? overlaps(other, line) : other.from === line.from),
    );
  });
}

function overlaps(a: { from: string; through: string }, b: { from: string; through: string }): boolean {
  return a.from <= b.through && b.from <= a.through;
}

/** A line for the exact rule: code, modifiers, units and charge. */
function exactKey(line: ClaimLineKey): string {
  return `${line.code}|${line.modifiers.join(',')}|${line.quantity}|${line.net ?? ''}`;
}

/** A line for the suspect rules: code, modifiers and units (LT vs RT, or 2 units vs 1, are different services). */
function overlapKey(line: ClaimLineKey): string {
  return `${line.code}|${line.modifiers.join(',')}|${line.quantity}`;
}

function sameMultiset(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((v, i) => v === y[i]);
}
