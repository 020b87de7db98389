import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { compileView } from '@fa/analytics';
import {
  CLAIM_LINE_VIEW,
  CLAIM_VIEW,
  EOB_ADJUDICATION_VIEW,
  EOB_COVERAGE_PERIOD_VIEW,
  REVENUE_CYCLE_VIEWS,
} from '.';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SYNTHEA_79 =
  process.env.SYNTHEA_79_DIR ?? path.resolve(__dirname, '../../../../../..', 'shared', 'data', 'synthea-79');
const first = (type: string): Json =>
  JSON.parse(
    gunzipSync(readFileSync(path.join(SYNTHEA_79, `${type}.ndjson.gz`)))
      .toString('utf8')
      .split('\n')[0],
  );
const view = (definition: unknown) => compileView(JSON.parse(JSON.stringify(definition)));
const META = { source: 'urn:fhir-aggregator:source:payer-feed#Claim/x' };

describe('the revenue-cycle views on Synthea data', () => {
  it('all compile, each named as a SQL view', () => {
    expect(REVENUE_CYCLE_VIEWS.map((v) => view(v).name)).toEqual([
      'claim',
      'claim_line',
      'eob_adjudication',
      'claim_response_adjudication',
      'coverage_period',
      'coverage_period_eob',
    ]);
  });

  it('claim and claim_line: the header and one row per item', () => {
    const claim: Json = { ...first('Claim'), meta: META };
    const [header] = view(CLAIM_VIEW).rows(claim);
    expect(header).toMatchObject({
      claim_id: claim.id,
      source: 'payer-feed',
      patient_id: claim.patient.reference.split('/')[1],
      provider: claim.provider.reference,
      type: claim.type.coding[0].code,
      status: claim.status,
      billable_start: claim.billablePeriod.start,
      coverage: claim.insurance[0].coverage.display,
      total: claim.total.value,
    });
    const lines = view(CLAIM_LINE_VIEW).rows(claim);
    expect(lines.map((l) => [l.sequence, l.code, l.net ?? null])).toEqual(
      claim.item.map((i: Json) => [i.sequence, i.productOrService.coding[0].code, i.net?.value ?? null]),
    );
  });

  it('eob_adjudication: submitted, allowed, paid and patient share per line; the contained Coverage over the billable period', () => {
    const eob: Json = { ...first('ExplanationOfBenefit'), meta: META };
    const amount = (item: Json, variable: string) =>
      item.adjudication?.find((a: Json) => a.category.coding[0].code.endsWith(`/${variable}`))?.amount
        ?.value ?? null;
    const rows = view(EOB_ADJUDICATION_VIEW).rows(eob);
    expect(rows.map((r) => [r.claim_id, r.submitted, r.allowed, r.paid])).toEqual(
      eob.item.map((i: Json) => [
        eob.claim.reference.split('/')[1],
        amount(i, 'line_sbmtd_chrg_amt'),
        amount(i, 'line_alowd_chrg_amt'),
        amount(i, 'line_prvdr_pmt_amt'),
      ]),
    );
    const withAmounts = eob.item.findIndex((i: Json) => i.adjudication);
    expect(rows[withAmounts].patient_responsibility).toBeCloseTo(
      amount(eob.item[withAmounts], 'line_coinsrnc_amt') +
        amount(eob.item[withAmounts], 'line_bene_ptb_ddctbl_amt'),
    );
    const coverage = eob.contained.find((r: Json) => r.resourceType === 'Coverage');
    expect(view(EOB_COVERAGE_PERIOD_VIEW).rows(eob)).toEqual([
      {
        eob_id: eob.id,
        source: 'payer-feed',
        period_start: eob.billablePeriod.start,
        period_end: eob.billablePeriod.end,
        contained_id: coverage.id,
        patient_id: coverage.beneficiary.reference.split('/')[1],
        payer: coverage.payor[0].display,
        plan: coverage.type.text,
        status: coverage.status,
      },
    ]);
  });
});
