import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { aggregateIdOf } from '@fa/ingestion';
import { seededRandom } from '@fa/patient-identity';

/**
 * Two overlapping sources cut from one Synthea export, with the ground truth of which resources are the same
 * clinical fact: `hospital-a` holds every resource of the chosen patients; `clinic-b` a seeded subset of their
 * clinical resources (and their Patients) with new ids (references follow), the main coding list sometimes in
 * another order or with a local code first (and, once a concept has been sent with both, sometimes the local
 * code alone), times shifted by up to a minute, and weights and heights re-expressed in g and m.
 */

export const CLINICAL_TYPES = [
  'AllergyIntolerance',
  'Condition',
  'DiagnosticReport',
  'Encounter',
  'Immunization',
  'MedicationRequest',
  'MedicationStatement',
  'Observation',
  'Procedure',
];
export const CLINIC_LOCAL_SYSTEM = 'http://clinic-b.example/CodeSystem/local';

export interface SameFact {
  resourceType: string;
  /** The source ids: hospital-a's, and clinic-b's copy. */
  hospitalId: string;
  clinicId: string;
}

export interface ClinicalSources {
  hospitalDir: string;
  clinicDir: string;
  truth: SameFact[];
  /** hospital-a Patient id -> clinic-b Patient id, for the patients clinic-b also holds. */
  patients: Map<string, string>;
  /** Every hospital-a patient id chosen. */
  hospitalPatients: string[];
  /** Clinical resources per source. */
  counts: { hospital: number; clinic: number };
  /** clinic-b resources that copy a fact with its times moved by days: facts only clinic-b holds (no truth). */
  nearMisses: { resourceType: string; clinicId: string }[];
  close(): Promise<void>;
}

export interface ClinicalSourcesOptions {
  /** A Synthea export: <Type>.ndjson(.gz) files. */
  dataDir: string;
  /** At most this many patients (in file order); all when absent. */
  patients?: number;
  /** Whether hospital-a also holds the non-clinical resources (claims, directory, documents): the whole export. */
  everything?: boolean;
  seed?: number;
  /** Share of the patients clinic-b holds, and share of their clinical resources. */
  patientShare?: number;
  factShare?: number;
  /** Share of the copies that also get a near miss (same code and value, 3 days 7 hours 13 minutes later). */
  nearMissShare?: number;
}

const NEAR_MISS_SHIFT_MS = ((3 * 24 + 7) * 60 + 13) * 60_000;

type Json = Record<string, unknown>;

export async function clinicalSources(options: ClinicalSourcesOptions): Promise<ClinicalSources> {
  const random = seededRandom(options.seed ?? 17);
  const byType = await readExport(options.dataDir);
  const allPatients = (byType.get('Patient') ?? []).map((p) => p.id as string);
  const chosen = new Set(allPatients.slice(0, options.patients ?? allPatients.length));
  const inClinic = new Set([...chosen].filter(() => random() < (options.patientShare ?? 0.8)));
  const clinicId = (id: string) => `cb-${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
  const hospitalDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-hospital-a-'));
  const clinicDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-clinic-b-'));
  const truth: SameFact[] = [];
  const patients = new Map<string, string>();
  const counts = { hospital: 0, clinic: 0 };
  const bothSeen = new Set<string>();
  const nearMisses: { resourceType: string; clinicId: string }[] = [];
  // Files in the order the file source reads them (sorted names), so "seen with both codes" holds in log order.
  for (const type of [...byType.keys()].sort()) {
    const resources = byType.get(type)!;
    const clinical = CLINICAL_TYPES.includes(type);
    const mine = resources.filter((r) =>
      type === 'Patient' ? chosen.has(r.id as string) : clinical ? chosen.has(patientOf(r) ?? '') : true,
    );
    const hospital = type === 'Patient' || clinical || options.everything ? mine : [];
    if (hospital.length > 0) await writeNdjson(path.join(hospitalDir, `${type}.ndjson`), hospital);
    if (clinical) counts.hospital += hospital.length;
    const copies: Json[] = [];
    for (const resource of mine) {
      if (type === 'Patient') {
        if (!inClinic.has(resource.id as string)) continue;
        patients.set(resource.id as string, clinicId(resource.id as string));
        copies.push(rewriteIds({ ...resource }, clinicId));
        continue;
      }
      if (!clinical || !inClinic.has(patientOf(resource) ?? '')) continue;
      if (random() >= (options.factShare ?? 0.6)) continue;
      const copy = rewriteIds(JSON.parse(JSON.stringify(resource)) as Json, clinicId);
      recode(copy, random, bothSeen);
      shiftTimes(copy, Math.round((random() * 2 - 1) * 59) * 1000);
      reexpress(copy);
      copies.push(copy);
      truth.push({ resourceType: type, hospitalId: resource.id as string, clinicId: copy.id as string });
      if (random() < (options.nearMissShare ?? 0.05)) {
        // The same code and value days later: a fact only clinic-b holds, which no rule may link.
        const nearMiss = {
          ...(JSON.parse(JSON.stringify(copy)) as Json),
          id: `nm-${String(copy.id).slice(3)}`,
        };
        shiftTimes(nearMiss, NEAR_MISS_SHIFT_MS);
        copies.push(nearMiss);
        nearMisses.push({ resourceType: type, clinicId: nearMiss.id as string });
      }
    }
    if (copies.length > 0) await writeNdjson(path.join(clinicDir, `${type}.ndjson`), copies);
    if (clinical) counts.clinic += copies.length;
  }
  return {
    hospitalDir,
    clinicDir,
    truth,
    patients,
    hospitalPatients: [...chosen],
    counts,
    nearMisses,
    close: async () => {
      await fs.rm(hospitalDir, { recursive: true, force: true });
      await fs.rm(clinicDir, { recursive: true, force: true });
    },
  };
}

async function readExport(dir: string): Promise<Map<string, Json[]>> {
  const byType = new Map<string, Json[]>();
  for (const name of (await fs.readdir(dir)).filter((n) => /\.ndjson(\.gz)?$/.test(n))) {
    let bytes = await fs.readFile(path.join(dir, name));
    if (name.endsWith('.gz')) bytes = gunzipSync(bytes);
    const resources = bytes
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Json);
    byType.set(name.replace(/\.ndjson(\.gz)?$/, ''), resources);
  }
  return byType;
}

async function writeNdjson(file: string, resources: Json[]): Promise<void> {
  await fs.writeFile(file, resources.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

export function patientOf(resource: Json): string | undefined {
  const reference = ((resource.subject ?? resource.patient) as { reference?: string } | undefined)?.reference;
  return reference?.startsWith('Patient/') ? reference.slice('Patient/'.length) : undefined;
}

/** The copy's id and every literal reference under clinic-b's ids. */
function rewriteIds(resource: Json, clinicId: (id: string) => string): Json {
  const text = JSON.stringify({ ...resource, id: clinicId(resource.id as string) }).replace(
    /"reference":"([A-Z][A-Za-z]+)\/([^"/?]+)"/g,
    (_, type: string, id: string) => `"reference":"${type}/${clinicId(id)}"`,
  );
  return JSON.parse(text) as Json;
}

function mainConcept(resource: Json): { coding?: Json[] } | undefined {
  const type = resource.resourceType;
  if (type === 'Immunization') return resource.vaccineCode as { coding?: Json[] };
  if (type === 'MedicationRequest' || type === 'MedicationStatement')
    return resource.medicationCodeableConcept as { coding?: Json[] };
  if (type === 'Encounter') return (resource.type as { coding?: Json[] }[] | undefined)?.[0];
  return resource.code as { coding?: Json[] };
}

/** Reorders the codings, or puts a local code first, or (for a concept already sent with both) the local code alone. */
function recode(resource: Json, random: () => number, bothSeen: Set<string>): void {
  const concept = mainConcept(resource);
  const codings = concept?.coding;
  if (!concept || !codings || codings.length === 0) return;
  const standard = `${String(codings[0].system)}|${String(codings[0].code)}`;
  const local = {
    system: CLINIC_LOCAL_SYSTEM,
    code: `L-${String(codings[0].code)}`,
    display: codings[0].display,
  };
  const roll = random();
  if (roll < 0.15 && bothSeen.has(standard)) {
    concept.coding = [local];
  } else if (roll < 0.45) {
    concept.coding = [local, ...codings];
    bothSeen.add(standard);
  } else if (roll < 0.7 && codings.length > 1) {
    concept.coding = [...codings].reverse();
  }
}

const TIME_KEYS = new Set([
  'effectiveDateTime',
  'issued',
  'onsetDateTime',
  'recordedDate',
  'authoredOn',
  'occurrenceDateTime',
  'performedDateTime',
  'start',
  'end',
]);

/** Moves every instant-like time of the resource (top level and periods) by `ms`. */
function shiftTimes(resource: Json, ms: number): void {
  if (ms === 0) return;
  const shift = (value: unknown) => {
    if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) && Math.abs(ms) >= 86_400_000)
      return new Date(Date.parse(value) + ms).toISOString().slice(0, 10);
    if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(value)) return value;
    const t = Date.parse(value);
    return Number.isNaN(t) ? value : new Date(t + ms).toISOString();
  };
  for (const [key, value] of Object.entries(resource)) {
    if (TIME_KEYS.has(key)) resource[key] = shift(value);
    else if (/Period$|^period$/.test(key) && value && typeof value === 'object') {
      const period = value as Json;
      for (const k of ['start', 'end']) if (k in period) period[k] = shift(period[k]);
    }
  }
}

/** Weights in g, heights in m: the same value re-expressed. */
function reexpress(resource: Json): void {
  const quantity = resource.valueQuantity as { value?: number; unit?: string; code?: string } | undefined;
  if (!quantity || typeof quantity.value !== 'number') return;
  if (quantity.code === 'kg')
    Object.assign(quantity, { value: Math.round(quantity.value * 1e6) / 1e3, unit: 'g', code: 'g' });
  else if (quantity.code === 'cm')
    Object.assign(quantity, { value: Math.round(quantity.value * 1e4) / 1e6, unit: 'm', code: 'm' });
}

export interface LinkScore {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
}

/**
 * Pairwise precision and recall per resource type of the links found (pairs of "<Type>/<our id>") against the
 * truth, with the sources' ids mapped to ours as ingestion does. A link of a type without truth counts as false.
 */
export function scoreFactLinks(
  truth: readonly SameFact[],
  links: readonly { aKey: string; bKey: string }[],
  sources: { hospital: string; clinic: string } = { hospital: 'hospital-a', clinic: 'clinic-b' },
): Map<string, LinkScore> {
  const pair = (a: string, b: string) => (a < b ? `${a} ${b}` : `${b} ${a}`);
  const expected = new Map<string, Set<string>>();
  for (const fact of truth) {
    const a = `${fact.resourceType}/${aggregateIdOf(sources.hospital, fact.resourceType, fact.hospitalId)}`;
    const b = `${fact.resourceType}/${aggregateIdOf(sources.clinic, fact.resourceType, fact.clinicId)}`;
    let set = expected.get(fact.resourceType);
    if (!set) expected.set(fact.resourceType, (set = new Set()));
    set.add(pair(a, b));
  }
  const found = new Map<string, Set<string>>();
  for (const link of links) {
    const type = link.aKey.split('/')[0];
    let set = found.get(type);
    if (!set) found.set(type, (set = new Set()));
    set.add(pair(link.aKey, link.bKey));
  }
  const scores = new Map<string, LinkScore>();
  for (const type of new Set([...expected.keys(), ...found.keys()])) {
    const want = expected.get(type) ?? new Set<string>();
    const got = found.get(type) ?? new Set<string>();
    const truePositives = [...got].filter((p) => want.has(p)).length;
    const falsePositives = got.size - truePositives;
    const falseNegatives = want.size - truePositives;
    scores.set(type, {
      truePositives,
      falsePositives,
      falseNegatives,
      precision: got.size === 0 ? 1 : truePositives / got.size,
      recall: want.size === 0 ? 1 : truePositives / want.size,
    });
  }
  return scores;
}
