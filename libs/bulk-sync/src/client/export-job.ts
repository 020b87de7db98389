import { parseManifest, type ExportManifest } from '../domain/manifest';
import { progressPercent, retryAfterMs } from '../domain/backoff';
import { BulkDataError, BulkDataHttp, withSlash } from './bulk-data-http';

export interface KickOffRequest {
  types?: string[];
  since?: string;
  /** Group/<id>/$export instead of the system-level $export. */
  group?: string;
}

const FHIR_JSON = 'application/fhir+json';

/** The kick-off URL of an export (system level, or a Group's). */
export function kickOffUrl(base: string, request: KickOffRequest): string {
  const url = new URL(
    request.group ? `Group/${encodeURIComponent(request.group)}/$export` : '$export',
    withSlash(base),
  );
  url.searchParams.set('_outputFormat', 'application/fhir+ndjson');
  if (request.types?.length) url.searchParams.set('_type', request.types.join(','));
  if (request.since) url.searchParams.set('_since', request.since);
  return url.toString();
}

/** Kick-off: 202 and the status URL (Content-Location, resolved against the kick-off URL if relative). */
export async function kickOff(http: BulkDataHttp, url: string): Promise<string> {
  const response = await http.fetch(url, { headers: { accept: FHIR_JSON, prefer: 'respond-async' } });
  if (response.status !== 202)
    throw new BulkDataError(
      `kick-off ${url} answered ${response.status} instead of 202: ${await outcomeText(response)}`,
    );
  await response.body?.cancel();
  const location = response.headers.get('content-location');
  if (!location) throw new BulkDataError(`kick-off ${url} answered 202 without a Content-Location`);
  return new URL(location, url).toString();
}

/**
 * One poll of a status URL without taking its manifest: its status (after BulkDataHttp's retries of 401, 429 and
 * 5xx) and the Retry-After it asks for. A resuming run asks so whether the server still has the export.
 */
export async function probeExport(
  http: BulkDataHttp,
  statusUrl: string,
): Promise<{ status: number; retryAfterMs?: number }> {
  const response = await http.fetch(statusUrl, { headers: { accept: 'application/json' } });
  await response.body?.cancel();
  return {
    status: response.status,
    retryAfterMs: retryAfterMs(response.headers.get('retry-after'), Date.now()),
  };
}

/**
 * Polls the status URL until the manifest: waits as Retry-After says (else pollMs), reports X-Progress; a 429
 * (polled too fast) waits as told too, in BulkDataHttp. An error status ends the export with the server's
 * OperationOutcome text.
 */
export async function pollUntilComplete(
  http: BulkDataHttp,
  statusUrl: string,
  options: {
    pollMs: number;
    /** Wait this long before the first poll (the Retry-After of a probe just made). */
    firstWaitMs?: number;
    onProgress?: (percent: number | undefined, text: string | null) => void;
  },
): Promise<ExportManifest> {
  if (options.firstWaitMs) await http.wait('export in progress', 1, options.firstWaitMs);
  for (let poll = 1; ; poll++) {
    const response = await http.fetch(statusUrl, { headers: { accept: 'application/json' } });
    if (response.status === 200) {
      let body: unknown;
      try {
        body = await response.json();
      } catch (error) {
        throw new BulkDataError(`the manifest at ${statusUrl} is not JSON: ${(error as Error).message}`);
      }
      return parseManifest(body, statusUrl);
    }
    if (response.status !== 202)
      throw new BulkDataError(
        `the export at ${statusUrl} failed (${response.status}): ${await outcomeText(response)}`,
      );
    await response.body?.cancel();
    const progress = response.headers.get('x-progress');
    options.onProgress?.(progressPercent(progress), progress);
    const told = retryAfterMs(response.headers.get('retry-after'), Date.now());
    await http.wait(`export in progress (poll ${poll})`, 1, told ?? options.pollMs);
  }
}

/** Cancels the export (DELETE on its status URL, 10 s at most): the server's status, or the failure's text. */
export async function cancelExport(http: BulkDataHttp, statusUrl: string): Promise<string> {
  try {
    const response = await http.fetch(statusUrl, {
      method: 'DELETE',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
    await response.body?.cancel();
    return String(response.status);
  } catch (error) {
    return (error as Error).message;
  }
}

async function outcomeText(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const outcome = JSON.parse(text) as { issue?: { diagnostics?: string; details?: { text?: string } }[] };
    const issues = (outcome.issue ?? []).map((i) => i.diagnostics ?? i.details?.text).filter(Boolean);
    if (issues.length > 0) return issues.join('; ');
  } catch {
    // not an OperationOutcome
  }
  return text.slice(0, 300) || '(no body)';
}
