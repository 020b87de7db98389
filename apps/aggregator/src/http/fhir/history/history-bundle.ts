import type { Bundle, BundleEntry, BundleLink } from 'fhir/r4';
import type { HistoryPage, StoredVersion } from '@fa/fhir-store';

/** A FHIR history Bundle for one page; entries newest first, as the spec orders them. */
export function historyBundle(page: HistoryPage, base: string, selfUrl: string, nextUrl?: string): Bundle {
  const link: BundleLink[] = [{ relation: 'self', url: selfUrl }];
  if (nextUrl) link.push({ relation: 'next', url: nextUrl });
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: page.total,
    link,
    entry: page.versions.map((version) => historyEntry(version, base)),
  };
}

function historyEntry(version: StoredVersion, base: string): BundleEntry {
  const url = `${version.resourceType}/${version.id}`;
  const response = {
    status: version.deleted ? '204 No Content' : version.versionId === 1 ? '201 Created' : '200 OK',
    etag: `W/"${version.versionId}"`,
    lastModified: version.recordedFrom.toISOString(),
  };
  if (version.deleted) return { fullUrl: `${base}/${url}`, request: { method: 'DELETE', url }, response };
  return {
    fullUrl: `${base}/${url}`,
    resource: version.resource!,
    request: {
      method: version.versionId === 1 ? 'POST' : 'PUT',
      url: version.versionId === 1 ? version.resourceType : url,
    },
    response,
  };
}
