/** A Bulk Data export's complete-status manifest, as the client uses it (URLs made absolute). */
export interface ExportManifest {
  transactionTime: string;
  requiresAccessToken: boolean;
  output: ManifestFile[];
  /** With `_since`: NDJSON of transaction Bundles whose DELETE entries name the resources deleted since. */
  deleted: ManifestFile[];
  error: ManifestFile[];
}

export interface ManifestFile {
  type: string;
  url: string;
  count?: number;
}

export class ManifestRefused extends Error {}

/**
 * Pure: reads the manifest the status URL answered with (Postel): relative URLs are resolved against the status
 * URL, a missing `count` or `requiresAccessToken` is tolerated (absent `requiresAccessToken` is taken as true,
 * the safe side); what cannot be right is refused with the reason: no `output` array, an entry without `type`
 * or `url`, no valid `transactionTime`.
 */
export function parseManifest(body: unknown, statusUrl: string): ExportManifest {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ManifestRefused(`the manifest at ${statusUrl} is not a JSON object`);
  const manifest = body as Record<string, unknown>;
  if (!Array.isArray(manifest.output))
    throw new ManifestRefused(
      `the manifest at ${statusUrl} has no "output" array: it names no files, so nothing can be synced (the server's export is broken, not empty: an empty export has "output": [])`,
    );
  const transactionTime = manifest.transactionTime;
  if (typeof transactionTime !== 'string' || Number.isNaN(Date.parse(transactionTime)))
    throw new ManifestRefused(
      `the manifest at ${statusUrl} has no valid "transactionTime" (${JSON.stringify(transactionTime)}): the next run's _since could not be known`,
    );
  const files = (list: unknown, name: string): ManifestFile[] =>
    (Array.isArray(list) ? list : []).map((entry: unknown, index) => {
      const { type, url, count } = (entry ?? {}) as Record<string, unknown>;
      if (typeof type !== 'string' || typeof url !== 'string')
        throw new ManifestRefused(`the manifest at ${statusUrl}: ${name}[${index}] needs "type" and "url"`);
      let absolute: string;
      try {
        absolute = new URL(url, statusUrl).toString();
      } catch {
        throw new ManifestRefused(`the manifest at ${statusUrl}: ${name}[${index}].url is not a URL`);
      }
      return {
        type,
        url: absolute,
        ...(typeof count === 'number' && Number.isInteger(count) && count >= 0 ? { count } : {}),
      };
    });
  return {
    transactionTime,
    requiresAccessToken: manifest.requiresAccessToken !== false,
    output: files(manifest.output, 'output'),
    deleted: files(manifest.deleted, 'deleted'),
    error: files(manifest.error, 'error'),
  };
}
