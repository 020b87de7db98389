/** What one resource version contributes to the search index, per index table. */

/**
 * One component's value inside a composite tuple, in the columns of the index table its type uses: token and
 * uri (system, code), quantity and number (value, system, code), date (low, high), string (normalized, exact),
 * reference (system = target type, code = target id, exact = as written).
 */
export interface CompositePart {
  system: string | null;
  code: string | null;
  value: string | null;
  low: string | null;
  high: string | null;
  normalized: string | null;
  exact: string | null;
}

/** A composite tuple: one combination of the components' values found on one element. */
export interface CompositeIndexValue {
  param: string;
  parts: CompositePart[];
}

export interface TokenIndexValue {
  param: string;
  system: string | null;
  code: string;
}
export interface StringIndexValue {
  param: string;
  /** Lower case without diacritics: what default and :contains searches compare. */
  normalized: string;
  exact: string;
}
export interface DateIndexValue {
  param: string;
  /** ISO instants; open ends are '-infinity' / 'infinity'. */
  low: string;
  high: string;
}
export interface NumberIndexValue {
  param: string;
  /** The number as written ("1.50", "66.899999999999991"): PostgreSQL's numeric keeps every digit. */
  value: string;
  system: string | null;
  code: string | null;
}
export interface ReferenceIndexValue {
  param: string;
  targetType: string | null;
  targetId: string | null;
  /** The reference as written: a conditional reference ("Practitioner?identifier=s|v") or a canonical URL. */
  raw: string;
}

/** Everything one resource version contributes to the search index. */
export interface IndexValues {
  tokens: TokenIndexValue[];
  strings: StringIndexValue[];
  dates: DateIndexValue[];
  numbers: NumberIndexValue[];
  references: ReferenceIndexValue[];
  composites: CompositeIndexValue[];
}

/** An empty set of index values, to fill. */
export function emptyIndexValues(): IndexValues {
  return { tokens: [], strings: [], dates: [], numbers: [], references: [], composites: [] };
}
