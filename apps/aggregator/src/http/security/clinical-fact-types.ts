/** The types the Clinical context's answers ($summary, the timeline) hold: the clinical facts it matches. */
export const CLINICAL_FACT_TYPES: readonly string[] = [
  'Condition',
  'AllergyIntolerance',
  'MedicationRequest',
  'MedicationStatement',
  'Immunization',
  'Observation',
  'Procedure',
  'DiagnosticReport',
  'Encounter',
];
