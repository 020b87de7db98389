import { GOLDEN_PATIENT_KEY } from './view-paths';

/** `claim_line`: one row per Claim.item. */
export const CLAIM_LINE_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'claim_line',
  title: 'Claim lines',
  status: 'active',
  resource: 'Claim',
  select: [
    {
      column: [
        { name: 'claim_id', path: 'getResourceKey()', type: 'id' },
        { name: 'patient_id', path: 'patient.getReferenceKey(Patient)', type: 'id', tag: GOLDEN_PATIENT_KEY },
      ],
    },
    {
      forEach: 'item',
      column: [
        { name: 'sequence', path: 'sequence', type: 'positiveInt' },
        { name: 'code_system', path: 'productOrService.coding.system.first()', type: 'uri' },
        { name: 'code', path: 'productOrService.coding.code.first()', type: 'code' },
        { name: 'modifiers', path: "modifier.coding.code.join(',')", type: 'string' },
        { name: 'serviced_date', path: 'servicedDate', type: 'date' },
        { name: 'serviced_start', path: 'servicedPeriod.start', type: 'dateTime' },
        { name: 'serviced_end', path: 'servicedPeriod.end', type: 'dateTime' },
        {
          name: 'location',
          path: '(locationCodeableConcept.coding.code | locationReference.reference).first()',
          type: 'string',
        },
        { name: 'quantity', path: 'quantity.value', type: 'decimal' },
        { name: 'unit_price', path: 'unitPrice.value', type: 'decimal' },
        { name: 'net', path: 'net.value', type: 'decimal' },
        { name: 'diagnosis_pointers', path: "diagnosisSequence.join(',')", type: 'string' },
      ],
    },
  ],
} as const;
