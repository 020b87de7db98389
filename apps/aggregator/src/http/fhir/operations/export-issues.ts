import type { ExportIssue } from '@fa/bulk-data';
import { FhirError } from '../../fhir-error';

/**
 * What a Bulk Data kick-off could not honour, under the client's handling preference: strict (the default), a
 * request the server cannot serve as asked is 400 naming the parameter; under `Prefer: handling=lenient` it is
 * an OperationOutcome in the manifest's `error` and the rest of the export goes ahead. Problems that are never
 * fatal (types the token may not read) are reported either way.
 */
export class KickOffIssues {
  readonly list: ExportIssue[] = [];

  constructor(readonly lenient: boolean) {}

  /** Strict: 400 with `message` naming `expression`; lenient: reported in `error` as not applied. */
  refuse(code: ExportIssue['code'], expression: string, message: string): void {
    if (!this.lenient) throw FhirError.badRequest(message, expression);
    this.list.push({ code, expression, diagnostics: `${message} (not applied: Prefer: handling=lenient)` });
  }

  /** Reported in `error` whatever the handling. */
  report(issue: ExportIssue): void {
    this.list.push(issue);
  }
}
