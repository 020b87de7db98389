import { HttpException, HttpStatus } from '@nestjs/common';
import type { OperationOutcome } from 'fhir/r4';

export type IssueCode = OperationOutcome['issue'][number]['code'];

/** An error that renders as a FHIR OperationOutcome with the given HTTP status. */
export class FhirError extends HttpException {
  constructor(
    status: HttpStatus,
    readonly issueCode: IssueCode,
    diagnostics: string,
    readonly expression?: string[],
  ) {
    super(diagnostics, status);
  }

  static badRequest(diagnostics: string, parameter?: string): FhirError {
    return new FhirError(HttpStatus.BAD_REQUEST, 'invalid', diagnostics, parameter ? [parameter] : undefined);
  }

  static notFound(diagnostics: string): FhirError {
    return new FhirError(HttpStatus.NOT_FOUND, 'not-found', diagnostics);
  }

  static gone(diagnostics: string): FhirError {
    return new FhirError(HttpStatus.GONE, 'deleted', diagnostics);
  }

  toOperationOutcome(): OperationOutcome {
    return {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: this.issueCode,
          diagnostics: this.message,
          ...(this.expression ? { expression: this.expression } : {}),
        },
      ],
    };
  }
}
