import type { Resource } from 'fhir/r4';
import {
  FHIR_ID_PATTERN,
  canonicalJson,
  cloneFhirJson,
  isR4ResourceType,
  parseReference,
  rewriteReferences,
  sha256Hex,
} from '@fa/fhir';
import type { Transformation, ValidationIssue } from '../events';
import { sourceSystemUri } from '@fa/fhir';
import { aggregateIdOf } from './aggregate-ids';
import type { RejectionCode } from './source-record';

export const NORMALIZER_VERSION = '1';

export interface NormalizedResource {
  resourceType: string;
  id: string;
  sourceId: string;
  sourceVersionId?: string;
  sourceLastUpdated?: string;
  resource: Resource;
  contentHash: string;
  transformations: Transformation[];
  validationIssues: ValidationIssue[];
}

export type NormalizeResult =
  { ok: true; value: NormalizedResource } | { ok: false; code: RejectionCode; reason: string };

/**
 * Pure: turns a source resource into the version we record. Rules (documented in the README):
 * - id becomes UUIDv5(source, type, source id); the source id and system stay in meta.source;
 * - literal references Type/id (relative or absolute, any _history suffix dropped) and Bundle urn:uuid
 *   references become Type/<our id>; #contained and conditional (Type?query) references are kept;
 * - the source's meta.versionId / meta.lastUpdated move to the lineage (ours are assigned when recorded).
 */
export function normalizeResource(
  source: string,
  input: Record<string, unknown>,
  bundleFullUrls?: ReadonlyMap<string, { resourceType: string; id: string }>,
): NormalizeResult {
  const resourceType = input.resourceType;
  if (resourceType === undefined) return reject('missing-resource-type', 'the object has no resourceType');
  if (typeof resourceType !== 'string' || !isR4ResourceType(resourceType)) {
    return reject(
      'unknown-resource-type',
      `${JSON.stringify(resourceType).slice(0, 80)} is not an R4 resource type`,
    );
  }
  const resource = cloneFhirJson(input) as Record<string, unknown> & { meta?: Record<string, unknown> };
  const issues: ValidationIssue[] = [];
  const transformations: Transformation[] = [];

  let sourceId: string;
  if (typeof resource.id === 'string' && resource.id.length > 0) {
    sourceId = resource.id;
    if (!FHIR_ID_PATTERN.test(sourceId)) {
      issues.push(issue('warning', 'value', `source id is not a valid FHIR id; kept in meta.source`, 'id'));
    }
  } else {
    // Without an id the content is the identity: the same resource sent again is recognised as unchanged.
    delete resource.id;
    sourceId = `sha256-${sha256Hex(canonicalJson(resource)).slice(0, 32)}`;
    issues.push(issue('warning', 'required', 'resource has no id; identified by its content hash', 'id'));
  }
  const id = aggregateIdOf(source, resourceType, sourceId);
  resource.id = id;
  transformations.push({
    name: 'namespace-id',
    version: NORMALIZER_VERSION,
    detail: `${resourceType}/${sourceId} -> ${id}`,
  });

  let unresolved = 0;
  const rewritten = rewriteReferences(resource, (reference) => {
    const parsed = parseReference(reference);
    if (parsed.kind === 'literal') {
      const viaBundle = bundleFullUrls?.get(reference);
      if (viaBundle)
        return `${viaBundle.resourceType}/${aggregateIdOf(source, viaBundle.resourceType, viaBundle.id)}`;
      return `${parsed.resourceType}/${aggregateIdOf(source, parsed.resourceType, parsed.id)}`;
    }
    if (parsed.kind === 'urn') {
      const target = bundleFullUrls?.get(reference);
      if (target) return `${target.resourceType}/${aggregateIdOf(source, target.resourceType, target.id)}`;
      unresolved++;
    }
    return undefined;
  });
  if (rewritten > 0) {
    transformations.push({
      name: 'rewrite-references',
      version: NORMALIZER_VERSION,
      detail: `${rewritten} reference(s) namespaced to this source`,
    });
  }
  if (unresolved > 0) {
    issues.push(
      issue(
        'warning',
        'not-found',
        `${unresolved} urn reference(s) not resolvable within their Bundle; kept`,
      ),
    );
  }

  const meta = { ...(resource.meta ?? {}) };
  const sourceVersionId = typeof meta.versionId === 'string' ? meta.versionId : undefined;
  const sourceLastUpdated = typeof meta.lastUpdated === 'string' ? meta.lastUpdated : undefined;
  const sourceMetaSource = typeof meta.source === 'string' ? meta.source : undefined;
  delete meta.versionId;
  delete meta.lastUpdated;
  meta.source = `${sourceSystemUri(source)}#${resourceType}/${sourceId}`;
  resource.meta = meta;
  transformations.push({
    name: 'source-meta',
    version: NORMALIZER_VERSION,
    detail: `meta.source set to the source record${sourceMetaSource ? ` (was ${sourceMetaSource})` : ''}; source versionId/lastUpdated moved to lineage`,
  });

  return {
    ok: true,
    value: {
      resourceType,
      id,
      sourceId,
      sourceVersionId,
      sourceLastUpdated,
      resource: resource as unknown as Resource,
      contentHash: sha256Hex(canonicalJson(resource)),
      transformations,
      validationIssues: issues,
    },
  };
}

function reject(code: RejectionCode, reason: string): NormalizeResult {
  return { ok: false, code, reason };
}

function issue(
  severity: ValidationIssue['severity'],
  code: string,
  diagnostics: string,
  expression?: string,
): ValidationIssue {
  return { severity, code, diagnostics, ...(expression ? { expression: [expression] } : {}) };
}
