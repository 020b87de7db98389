import { Dataset, keyOf, SourceKey } from './dataset';
import { allReferences, references, Resource } from './fhir-values';

interface CompartmentDefinition {
  resource: { code: string; param?: string[] }[];
}

/**
 * Where each Patient-compartment parameter of the R4 CompartmentDefinition points, as element paths, for the types
 * synthea-79 holds (from the R4 search parameter expressions; `subject.where(resolve() is Patient)` becomes
 * `subject`, since only a `Patient/<id>` reference can name the patient).
 */
const PARAM_PATHS: Record<string, Record<string, string[]>> = {
  Claim: { patient: ['patient'], payee: ['payee.party'] },
  Condition: { patient: ['subject'], asserter: ['asserter'] },
  DiagnosticReport: { subject: ['subject'] },
  DocumentReference: { subject: ['subject'], author: ['author'] },
  Encounter: { subject: ['subject'] },
  Group: { member: ['member.entity'] },
  ExplanationOfBenefit: { patient: ['patient'], payee: ['payee.party'] },
  Immunization: { patient: ['patient'] },
  MedicationRequest: { subject: ['subject'] },
  Observation: { subject: ['subject'], performer: ['performer'] },
  Patient: { link: ['link.other'] },
  Procedure: { patient: ['subject'], performer: ['performer.actor'] },
  Provenance: { patient: ['target'] },
};

/** Types whose references $everything follows one level. */
const REFERENCED_TYPES = new Set(['Practitioner', 'Organization', 'Location', 'Medication']);

export class PatientCompartment {
  /** Compartment params per resource type, as the definition lists them (types with no params are left out). */
  private readonly params = new Map<string, string[]>();
  private readonly cache = new WeakMap<Dataset, Map<SourceKey, Resource[]>>();

  constructor(definition: CompartmentDefinition) {
    for (const entry of definition.resource) {
      if (entry.param && entry.param.length > 0) this.params.set(entry.code, entry.param);
    }
  }

  /** Types of the data whose compartment params the table above does not cover (must be none). */
  uncoveredTypes(dataset: Dataset): string[] {
    return dataset.types().filter((type) => {
      const params = this.params.get(type);
      if (!params) return false;
      return params.some((p) => !PARAM_PATHS[type]?.[p]);
    });
  }

  /** Types of the data that are in the compartment at all. */
  compartmentTypes(dataset: Dataset): string[] {
    return dataset.types().filter((type) => this.params.has(type));
  }

  /** Compartment members of every patient of a dataset (besides the patient itself), by patient key. */
  private membersByPatient(dataset: Dataset): Map<SourceKey, Resource[]> {
    const cached = this.cache.get(dataset);
    if (cached) return cached;
    const byPatient = new Map<SourceKey, Resource[]>();
    for (const [type, params] of this.params) {
      const paths = params.flatMap((p) => PARAM_PATHS[type]?.[p] ?? []);
      for (const resource of dataset.ofType(type)) {
        const patients = new Set(
          paths.flatMap((path) => references(resource, path)).filter((r) => r.startsWith('Patient/')),
        );
        for (const patientKey of patients) {
          if (patientKey === keyOf(resource)) continue;
          const list = byPatient.get(patientKey);
          if (list) list.push(resource);
          else byPatient.set(patientKey, [resource]);
        }
      }
    }
    this.cache.set(dataset, byPatient);
    return byPatient;
  }

  /** What Patient/<id>/$everything must return: the patient, its compartment, and one level of P/O/L/M. */
  everything(dataset: Dataset, patientSourceId: string): Set<SourceKey> {
    const patientKey = `Patient/${patientSourceId}`;
    const patient = dataset.get(patientKey);
    if (!patient) throw new Error(`test bug: no ${patientKey}`);
    const members = [patient, ...(this.membersByPatient(dataset).get(patientKey) ?? [])];
    const out = new Set<SourceKey>(members.map(keyOf));
    // Every reference anywhere in a member, contained resources included: in synthea-79 the contained
    // ServiceRequest/Coverage of an ExplanationOfBenefit only repeat the practitioner of its careTeam and provider.
    for (const member of members) {
      for (const reference of allReferences(member)) {
        const type = /^([A-Z][A-Za-z]+)[/?]/.exec(reference)?.[1];
        if (!type || !REFERENCED_TYPES.has(type)) continue;
        const target = dataset.resolve(reference);
        if (!target) throw new Error(`test bug: ${keyOf(member)} → ${reference} does not resolve`);
        out.add(keyOf(target));
      }
    }
    return out;
  }
}

/** What a Bulk Data Patient- or Group-level export must hold: the patients and their compartments' members. */
export function compartmentsOf(
  compartment: PatientCompartment,
  dataset: Dataset,
  patientSourceIds: readonly string[],
): Set<SourceKey> {
  const types = new Set(['Patient', ...compartment.compartmentTypes(dataset)]);
  const out = new Set<SourceKey>();
  for (const id of patientSourceIds) {
    for (const key of compartment.everything(dataset, id)) {
      // $everything's one level of referenced Practitioner/Organization/Location/Medication is not a compartment.
      if (types.has(key.split('/')[0]) && (!key.startsWith('Patient/') || key === `Patient/${id}`))
        out.add(key);
    }
  }
  return out;
}
