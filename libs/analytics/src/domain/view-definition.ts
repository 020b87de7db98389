/**
 * SQL on FHIR v2 ViewDefinition, as received (JSON): the shape the runner understands. Fields are typed loosely
 * (`unknown` where a client may send anything) because validation, not the type system, decides what is valid.
 */
export interface ViewDefinition {
  resourceType?: 'ViewDefinition';
  resource: string;
  name?: string;
  status?: string;
  constant?: ViewConstant[];
  select?: ViewSelect[];
  where?: { path: string; description?: string }[];
}

export interface ViewConstant {
  name: string;
  [valueX: `value${string}`]: unknown;
}

export interface ViewSelect {
  column?: ViewColumn[];
  select?: ViewSelect[];
  forEach?: string;
  forEachOrNull?: string;
  repeat?: string[];
  unionAll?: ViewSelect[];
}

export interface ViewColumn {
  name: string;
  path: string;
  type?: string;
  collection?: boolean;
  description?: string;
}

/** One output row: column name → JSON value (null when the path gave nothing; an array for collection columns). */
export type ViewRow = Record<string, unknown>;

/** A column of the view's output, in output order. */
export interface ViewColumnInfo {
  name: string;
  type?: string;
  collection: boolean;
  /** The column's `tag`s (the spec's name/value pairs for implementation-specific metadata). */
  tags?: readonly { name: string; value: string }[];
}
