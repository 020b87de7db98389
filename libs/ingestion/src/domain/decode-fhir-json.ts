import {
  decodeUtf8Strict,
  findJsonProblem,
  mayHoldUnstorable,
  parseFhirJson,
  stringifyFhirJson,
} from '@fa/fhir';
import type { OriginLineage } from '../events';
import { excerptOf, SourceRecord } from './source-record';

const UNPACKED_BUNDLE_TYPES = new Set(['batch', 'transaction', 'collection', 'searchset', 'history']);

/**
 * Decodes one JSON document from a source (an NDJSON line, a .json file, a Kafka message) into source records.
 * A batch/transaction/collection/searchset/history Bundle yields its entries — a bad entry is rejected on its own
 * and its siblings still go in; a transaction entry with request.method DELETE becomes a delete. Documents and
 * messages are recorded as Bundles. Decimals keep their written text (parseFhirJson).
 *
 * Input hygiene (see @fa/fhir input-hygiene) comes first: bytes that are not valid UTF-8 are rejected as
 * `invalid-utf8`, a NUL anywhere as `nul-character`, an unpaired surrogate as `lone-surrogate`; each resource
 * (per Bundle entry, naming the field) nested deeper than MAX_JSON_DEPTH as `too-deep`, with more than
 * MAX_JSON_ELEMENTS values as `too-many-elements`, with an element longer than its FHIR type's limit as
 * `too-long` (input-limits.ts), so nothing PostgreSQL or the search index would refuse reaches the append.
 *
 * `expectedType`: the document must be a resource of this type (a Bulk Data export file holds one type): one
 * without a resourceType is rejected as `missing-resource-type` (as normalization would), another type as
 * `unexpected-resource-type`, so a relay (bulk-sync to Kafka) can dead-letter them before publishing.
 */
export function decodeFhirJson(
  input: string | Uint8Array,
  origin: OriginLineage,
  options: { expectedType?: string } = {},
): SourceRecord[] {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    const decoded = decodeUtf8Strict(input);
    if (!decoded.ok)
      return [{ kind: 'rejected', ...decoded.problem, origin, excerpt: excerptOf(lossy(input)) }];
    text = decoded.text;
  }
  // JSON text can only produce a NUL or a lone surrogate from a \u escape: without one, skip that check.
  const strings = mayHoldUnstorable(text);
  return decodeText(text, origin, options.expectedType).map((record) => checkLimits(record, strings));
}

function lossy(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes.subarray(0, 4096));
}

function checkLimits(record: SourceRecord, strings: boolean): SourceRecord {
  if (record.kind !== 'resource') return record;
  const problem = findJsonProblem(record.resource, { strings });
  return problem ? { kind: 'rejected', ...problem, origin: record.origin } : record;
}

function decodeText(text: string, origin: OriginLineage, expectedType?: string): SourceRecord[] {
  // A raw NUL is not JSON either; say what is wrong with it rather than "not JSON".
  const nul = text.indexOf('\u0000');
  if (nul >= 0) {
    return [
      {
        kind: 'rejected',
        code: 'nul-character',
        reason: `the input holds a NUL character (U+0000) at character ${nul}`,
        origin,
        excerpt: excerptOf(text),
      },
    ];
  }
  let parsed: unknown;
  try {
    parsed = parseFhirJson(text);
  } catch (error) {
    return [
      {
        kind: 'rejected',
        code: 'not-json',
        reason: `not JSON: ${(error as Error).message}`,
        origin,
        excerpt: excerptOf(text),
      },
    ];
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return [
      {
        kind: 'rejected',
        code: 'not-a-resource',
        reason: `not a FHIR resource: a JSON ${parsed === null ? 'null' : Array.isArray(parsed) ? 'array' : typeof parsed}`,
        origin,
        excerpt: excerptOf(text),
      },
    ];
  }
  const resource = parsed as Record<string, unknown>;
  if (expectedType && resource.resourceType !== expectedType) {
    const missing = resource.resourceType === undefined;
    return [
      {
        kind: 'rejected',
        code: missing ? 'missing-resource-type' : 'unexpected-resource-type',
        reason: missing
          ? `the object has no resourceType; only ${expectedType} resources belong`
          : `a ${String(resource.resourceType).slice(0, 64)} where only ${expectedType} resources belong`,
        origin,
        excerpt: excerptOf(text),
      },
    ];
  }
  if (resource.resourceType === 'Bundle' && UNPACKED_BUNDLE_TYPES.has(String(resource.type))) {
    return decodeBundleEntries(resource, origin);
  }
  return [{ kind: 'resource', resource, origin }];
}

function decodeBundleEntries(bundle: Record<string, unknown>, origin: OriginLineage): SourceRecord[] {
  const entries = Array.isArray(bundle.entry) ? (bundle.entry as unknown[]) : [];
  const fullUrls = new Map<string, { resourceType: string; id: string }>();
  for (const entry of entries) {
    const { fullUrl, resource } = (entry ?? {}) as { fullUrl?: unknown; resource?: Record<string, unknown> };
    if (typeof fullUrl !== 'string' || !resource || typeof resource.resourceType !== 'string') continue;
    const id = typeof resource.id === 'string' ? resource.id : /^urn:uuid:(.+)$/i.exec(fullUrl)?.[1];
    if (id) fullUrls.set(fullUrl, { resourceType: resource.resourceType, id });
  }
  return entries.map((entry, entryIndex): SourceRecord => {
    const at: OriginLineage = withEntryIndex(origin, entryIndex);
    const { resource, request } = (entry ?? {}) as {
      resource?: unknown;
      request?: { method?: string; url?: string };
    };
    if (request?.method === 'DELETE') {
      const target = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(request.url ?? '');
      if (!target) {
        return {
          kind: 'rejected',
          code: 'invalid-delete',
          reason: `Bundle entry ${entryIndex}: DELETE needs request.url "<Type>/<id>", got ${JSON.stringify(request.url)}`,
          origin: at,
        };
      }
      return { kind: 'delete', resourceType: target[1], sourceId: target[2], origin: at };
    }
    if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
      return {
        kind: 'rejected',
        code: 'bundle-entry-without-resource',
        reason: `Bundle entry ${entryIndex} has no resource`,
        origin: at,
        excerpt: excerptOf(stringifyFhirJson(entry ?? null)),
      };
    }
    const record = resource as Record<string, unknown>;
    if (record.id === undefined) {
      const fromUrn = /^urn:uuid:(.+)$/i.exec(String((entry as { fullUrl?: unknown }).fullUrl ?? ''))?.[1];
      if (fromUrn)
        return {
          kind: 'resource',
          resource: { ...record, id: fromUrn },
          origin: at,
          bundleFullUrls: fullUrls,
        };
    }
    return { kind: 'resource', resource: record, origin: at, bundleFullUrls: fullUrls };
  });
}

/** The origin of one entry of a Bundle: every coordinate the origin has (file, Kafka, export line) names the entry. */
function withEntryIndex(origin: OriginLineage, entryIndex: number): OriginLineage {
  return {
    ...origin,
    ...(origin.file ? { file: { ...origin.file, entryIndex } } : {}),
    ...(origin.kafka ? { kafka: { ...origin.kafka, entryIndex } } : {}),
    ...(origin.bulk ? { bulk: { ...origin.bulk, entryIndex } } : {}),
  };
}
