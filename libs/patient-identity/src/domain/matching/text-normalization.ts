/**
 * Normalisation shared by feature extraction and comparators. Matching is on folded ASCII so that accents,
 * case and punctuation differences between source systems never count as disagreement.
 */

const COMBINING_MARKS = /[\u0300-\u036f]/g;

/** Lower-case ASCII letters, digits and single spaces only. */
export function foldText(value: string | undefined | null): string {
  if (!value) return '';
  return value
    .normalize('NFKD')
    .replace(COMBINING_MARKS, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** Name without spaces or punctuation, so "Mc Carthy", "McCarthy" and "Mc-Carthy" are the same name. */
export function foldName(value: string | undefined | null): string {
  return foldText(value).replace(/[^a-z]/g, '');
}

/** Free text without spaces: Febrl's corruptions often insert or drop a space ("gran ville"). */
export function compactText(value: string): string {
  return value.replace(/ /g, '');
}

export function digitsOnly(value: string | undefined | null): string {
  return value ? value.replace(/\D+/g, '') : '';
}

export function tokensOf(value: string): string[] {
  return value ? value.split(' ').filter((token) => token.length > 0) : [];
}
