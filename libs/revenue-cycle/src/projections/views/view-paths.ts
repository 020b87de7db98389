import { GOLDEN_PATIENT_TAG } from '@fa/analytics';

/** FHIRPath pieces the revenue-cycle views share. */

/** The source system, from meta.source (`urn:fhir-aggregator:source:<source>#<Type>/<source id>`). */
export const SOURCE_PATH = "meta.source.replaceMatches('^urn:fhir-aggregator:source:([^#]*)#.*$', '$1')";

/** A reference as one text: the literal or conditional reference, else its display. */
export const referenceText = (element: string) =>
  `${element}.select(iif(reference.exists(), reference, display)).first()`;

/** An adjudication amount of a line by category: X12/FHIR codes, or the CMS Blue Button variables Synthea uses. */
export const adjudicationAmount = (codes: string[], blueButton: string[]) => {
  const tests = [
    ...codes.map((c) => `code = '${c}'`),
    ...blueButton.map((v) => `code.endsWith('/${v}')`),
  ].join(' or ');
  return `adjudication.where(category.coding.where(${tests}).exists()).amount.value`;
};

export const SUBMITTED = adjudicationAmount(['submitted'], ['line_sbmtd_chrg_amt']);
export const ALLOWED = adjudicationAmount(['eligible'], ['line_alowd_chrg_amt']);
export const PAID = adjudicationAmount(['benefit'], ['line_prvdr_pmt_amt']);
export const PATIENT_RESPONSIBILITY = adjudicationAmount(
  ['copay', 'deductible'],
  ['line_coinsrnc_amt', 'line_bene_ptb_ddctbl_amt'],
);

/** The tag of a view's source-patient key: the materialized view adds `golden_patient_id` beside it. */
export const GOLDEN_PATIENT_KEY = [{ name: GOLDEN_PATIENT_TAG, value: 'golden_patient_id' }];
