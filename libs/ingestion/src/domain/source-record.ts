import { HygieneCode, storableText } from '@fa/fhir';
import type { OriginLineage } from '../events';

/** What a source delivered, decoded but not yet judged: the input of the IngestResourceVersions command. */
export type SourceRecord =
  | {
      kind: 'resource';
      resource: Record<string, unknown>;
      origin: OriginLineage;
      /** Bundle fullUrl → the entry's resource type and source id, for resolving urn:uuid and absolute references. */
      bundleFullUrls?: ReadonlyMap<string, { resourceType: string; id: string }>;
    }
  | { kind: 'delete'; resourceType: string; sourceId: string; origin: OriginLineage }
  | { kind: 'rejected'; code: RejectionCode; reason: string; origin: OriginLineage; excerpt?: string };

export type RejectionCode =
  | 'not-json'
  | 'not-a-resource'
  | 'missing-resource-type'
  | 'unknown-resource-type'
  /** A resource of another type than its container says (a Bulk Data export file is of one type). */
  | 'unexpected-resource-type'
  | 'too-large'
  | 'too-deep'
  | 'bundle-entry-without-resource'
  | 'invalid-delete'
  | 'unknown-source'
  /** PostgreSQL refused the message's events for good (e.g. 22P05, 23xxx, 54000): see classifyFailure. */
  | 'store-rejected'
  /** Input hygiene (@fa/fhir): bytes not UTF-8, a NUL, an unpaired surrogate. */
  | HygieneCode;

export const MAX_EXCERPT_CHARS = 4096;

/** The start of bad input, made storable (NULs and lone surrogates replaced), for the rejection event. */
export function excerptOf(text: string): string {
  return storableText(text.length > MAX_EXCERPT_CHARS ? `${text.slice(0, MAX_EXCERPT_CHARS)}…` : text);
}
