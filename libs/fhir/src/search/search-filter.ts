import type { SearchParameterDefinition } from './search-parameters';

/** A search parameter's value the server cannot use: answered with 400 and an OperationOutcome naming it. */
export class SearchParameterError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
    this.name = 'SearchParameterError';
  }
}

/**
 * A chain, `_has` or :mdm that would touch more linked resources than the server allows per search: cancelled
 * before the search runs, answered with 400 (too-costly) naming the parameter.
 */
export class SearchTooCostlyError extends SearchParameterError {
  constructor(
    parameter: string,
    readonly limit: number,
  ) {
    super(
      parameter,
      `${parameter}: the chain or _has links more than ${limit} resources (SEARCH_LINK_LIMIT); narrow it with more specific values`,
    );
    this.name = 'SearchTooCostlyError';
  }
}

export type Prefix = 'eq' | 'ne' | 'lt' | 'gt' | 'le' | 'ge' | 'sa' | 'eb' | 'ap';

export interface TokenValue {
  /** undefined: any system; null: no system (`|code`). */
  system?: string | null;
  /** undefined: any code in the system (`system|`). */
  code?: string;
}
export interface DateValue {
  prefix: Prefix;
  start: Date;
  end: Date;
}
/** Numbers as exact decimal text (for PostgreSQL's numeric): no double rounding at any step. */
export interface NumberValue {
  prefix: Prefix;
  value: string;
  /** The implicit range of the value's written precision ("5.4" is [5.35, 5.45)), computed exactly. */
  low: string;
  high: string;
  system?: string;
  code?: string;
}
export interface ReferenceValue {
  type?: string;
  id?: string;
  /** A canonical or absolute URL that is not one of ours, matched as written. */
  raw?: string;
}

/** One parameter occurrence: its values are alternatives (comma = OR); occurrences are all required (AND). */
export type SearchFilter =
  | { kind: 'id'; parameter: string; values: string[]; not: boolean }
  | { kind: 'lastUpdated'; parameter: string; values: DateValue[] }
  | { kind: 'missing'; parameter: string; definition: SearchParameterDefinition; missing: boolean }
  | {
      kind: 'token';
      parameter: string;
      definition: SearchParameterDefinition;
      indexParam: string;
      values: TokenValue[];
      not: boolean;
    }
  | { kind: 'uri'; parameter: string; definition: SearchParameterDefinition; values: string[] }
  | {
      kind: 'string';
      parameter: string;
      definition: SearchParameterDefinition;
      /** The parameter's code, or `<code>:text` for :text on tokens and references (display and text). */
      indexParam: string;
      match: 'prefix' | 'exact' | 'contains';
      values: string[];
    }
  | { kind: 'date'; parameter: string; definition: SearchParameterDefinition; values: DateValue[] }
  | { kind: 'number'; parameter: string; definition: SearchParameterDefinition; values: NumberValue[] }
  | {
      kind: 'reference';
      parameter: string;
      definition: SearchParameterDefinition;
      values: ReferenceValue[];
      /** :mdm: a golden patient stands for every source patient linked to it at the instant searched. */
      mdm?: boolean;
    }
  /** `a$b[$c]`: each alternative is one filter per component, all holding on the same element. */
  | { kind: 'composite'; parameter: string; definition: SearchParameterDefinition; values: SearchFilter[][] }
  /**
   * `ref.param=v` / `ref:Type.param=v`: the reference points at a resource (of one of the types, as of the same
   * instant) that matches the inner filter.
   */
  | {
      kind: 'chain';
      parameter: string;
      definition: SearchParameterDefinition;
      targets: { resourceType: string; filter: SearchFilter }[];
    }
  /** `_has:Type:ref:param=v`: some resource of Type whose `ref` points here matches the inner filter. */
  | {
      kind: 'has';
      parameter: string;
      sourceType: string;
      reference: SearchParameterDefinition;
      filter: SearchFilter;
    }
  /**
   * What the store turns a chain, `_has` or :mdm into once the linked resources are known: the reference points
   * at one of these resources.
   */
  | { kind: 'referenceSet'; parameter: string; param: string; targets: { type: string; id: string }[] };

export interface SortKey {
  /** A search parameter, or the column parameters _id and _lastUpdated. */
  definition?: SearchParameterDefinition;
  column?: '_id' | '_lastUpdated';
  descending: boolean;
}

export interface IncludeSpec {
  sourceType: string;
  param: string;
  targetType?: string;
  iterate: boolean;
}

export interface SearchRequest {
  resourceType: string;
  filters: SearchFilter[];
  sort: SortKey[];
  count: number;
  offset: number;
  totalMode: 'none' | 'estimate' | 'accurate';
  summaryCount: boolean;
  elements?: string[];
  includes: IncludeSpec[];
  revIncludes: IncludeSpec[];
  asOf?: Date;
  /** Parameters this server does not know; ignored under lenient handling and reported. */
  unknown: string[];
}
