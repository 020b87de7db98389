import type { DetectedIssue } from 'fhir/r4';
import type { FindingRow } from '../revenue-cycle.reader';

/** Our code system for duplicate-claim findings (DetectedIssue.code) and the fields a rule matched. */
export const DUPLICATE_CLAIM_CODES = 'urn:fhir-aggregator:revenue-cycle:duplicate-claim';
export const MATCHED_FIELD_CODES = 'urn:fhir-aggregator:revenue-cycle:matched-field';

const STATUS: Record<FindingRow['status'], DetectedIssue['status']> = {
  open: 'preliminary',
  confirmed: 'final',
  dismissed: 'cancelled',
  withdrawn: 'entered-in-error',
};

/** A finding as FHIR DetectedIssue: implicated = both claims, detail = the rule and the fields it matched. */
export function detectedIssueOf(finding: FindingRow): DetectedIssue {
  const resolution =
    finding.decidedBy && finding.status !== 'open'
      ? [
          {
            action: {
              coding: [{ system: DUPLICATE_CLAIM_CODES, code: finding.status }],
              text: `${finding.status} by ${decidedByText(finding.decidedBy)}${finding.note ? `: ${finding.note}` : ''}`,
            },
            date: finding.recordedFrom.toISOString(),
          },
        ]
      : undefined;
  return {
    resourceType: 'DetectedIssue',
    id: finding.findingId,
    meta: { lastUpdated: finding.recordedFrom.toISOString() },
    status: STATUS[finding.status],
    code: {
      coding: [
        { system: DUPLICATE_CLAIM_CODES, code: finding.kind, display: `${finding.kind} duplicate claim` },
      ],
      text: `${finding.kind} duplicate claim`,
    },
    severity: finding.kind === 'exact' ? 'high' : 'moderate',
    patient: { reference: `Patient/${finding.goldenPatientId}` },
    identifiedDateTime: finding.detectedAt.toISOString(),
    implicated: [{ reference: `Claim/${finding.claimId}` }, { reference: `Claim/${finding.duplicateOf}` }],
    evidence: [
      {
        code: finding.matchedFields.map((field) => ({
          coding: [{ system: MATCHED_FIELD_CODES, code: field }],
        })),
      },
    ],
    detail: `${finding.rule}: Claim/${finding.claimId} duplicates Claim/${finding.duplicateOf} on ${finding.matchedFields.join(', ')} (service date ${finding.serviceDate})`,
    ...(resolution ? { mitigation: resolution } : {}),
  };
}

function decidedByText(decidedBy: Record<string, unknown>): string {
  return decidedBy.kind === 'reviewer'
    ? `reviewer:${String(decidedBy.reviewer)}`
    : `detector:${String(decidedBy.version)}`;
}
