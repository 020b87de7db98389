import type { Extension, Provenance, Resource } from 'fhir/r4';
import { v5 as uuidv5 } from 'uuid';
import { SOURCE_SYSTEMS } from '@fa/fhir';
import { KIND_OF_TYPE } from './clinical-fact';
import { CLINICAL_NAMESPACE } from './fact-matching-decider';

/** The extension on a de-duplicated resource naming each source resource of its fact. */
export const FACT_SOURCES_EXTENSION =
  'https://fhir-aggregator.dev/fhir/StructureDefinition/clinical-fact-source';

/** A link between two resources current at the instant asked about. */
export interface LinkAtInstant {
  aKey: string;
  bKey: string;
  ruleId: string;
  recordedFrom: Date;
}

export interface FactSource {
  resourceType: string;
  id: string;
  source: string;
}

/** One entry of a de-duplicated record: a resource (the fact's representative) and every source resource of it. */
export interface FactEntry {
  resourceType: string;
  id: string;
  resource: Resource;
  sources: FactSource[];
  rules: string[];
  /** When the newest of its links was recorded (for its Provenance). */
  linkedAt?: Date;
}

/** The source a stored resource came from, from its meta.source (`urn:fhir-aggregator:source:<source>#...`). */
export function sourceOfResource(resource: Resource): string {
  const meta = resource.meta?.source ?? '';
  const prefix = `${SOURCE_SYSTEMS}:`;
  return meta.startsWith(prefix) ? meta.slice(prefix.length).split('#')[0] : 'unknown';
}

/**
 * Collapses the resources linked as one fact into one entry, at the place of the first of them in the given
 * order; the most recently recorded of them (meta.lastUpdated) stands for the fact, so the newest news of any
 * source wins. Resources of no clinical kind pass through unchanged; a fact held by one source names that one.
 */
export function deduplicate(
  entries: readonly { resourceType: string; id: string; resource: Resource }[],
  links: readonly LinkAtInstant[],
): FactEntry[] {
  const keyOf = (e: { resourceType: string; id: string }) => `${e.resourceType}/${e.id}`;
  const present = new Set(entries.map(keyOf));
  const parent = new Map<string, string>();
  const find = (key: string): string => {
    let root = key;
    while (parent.has(root)) root = parent.get(root)!;
    return root;
  };
  const rulesOf = new Map<string, Set<string>>();
  const linkedAt = new Map<string, Date>();
  for (const link of links) {
    if (!present.has(link.aKey) || !present.has(link.bKey)) continue;
    const a = find(link.aKey);
    const b = find(link.bKey);
    if (a !== b) {
      parent.set(b, a);
      for (const rule of rulesOf.get(b) ?? []) rulesOf.set(a, (rulesOf.get(a) ?? new Set()).add(rule));
      const at = linkedAt.get(b);
      if (at && (!linkedAt.has(a) || linkedAt.get(a)! < at)) linkedAt.set(a, at);
    }
    rulesOf.set(a, (rulesOf.get(a) ?? new Set()).add(link.ruleId));
    if (!linkedAt.has(a) || linkedAt.get(a)! < link.recordedFrom) linkedAt.set(a, link.recordedFrom);
  }
  const groups = new Map<string, (typeof entries)[number][]>();
  for (const e of entries) {
    const root = find(keyOf(e));
    groups.set(root, [...(groups.get(root) ?? []), e]);
  }
  const result: FactEntry[] = [];
  for (const [root, members] of groups) {
    const rules = [...(rulesOf.get(root) ?? [])].sort();
    const sources = members.map((m) => ({
      resourceType: m.resourceType,
      id: m.id,
      source: sourceOfResource(m.resource),
    }));
    const speaker = members.reduce((best, m) =>
      lastUpdated(m.resource) > lastUpdated(best.resource) ? m : best,
    );
    if (!KIND_OF_TYPE[speaker.resourceType]) {
      result.push({ ...speaker, sources, rules });
      continue;
    }
    const extension: Extension[] = sources.map((s) => ({
      url: FACT_SOURCES_EXTENSION,
      valueReference: { reference: `${s.resourceType}/${s.id}`, display: s.source },
    }));
    const own = (speaker.resource as { extension?: Extension[] }).extension ?? [];
    const resource = { ...speaker.resource, extension: [...own, ...extension] } as Resource;
    result.push({ ...speaker, resource, sources, rules, linkedAt: linkedAt.get(root) });
  }
  return result;
}

const lastUpdated = (resource: Resource) => resource.meta?.lastUpdated ?? '';

/** The Provenance of a fact held by several sources: its representative as target, every source resource as entity. */
export function factProvenance(entry: FactEntry): Provenance {
  return {
    resourceType: 'Provenance',
    id: uuidv5(entry.sources.map((s) => `${s.resourceType}/${s.id}`).join('|'), CLINICAL_NAMESPACE),
    target: [{ reference: `${entry.resourceType}/${entry.id}` }],
    recorded: (entry.linkedAt ?? new Date(0)).toISOString(),
    policy: entry.rules.map((rule) => `https://fhir-aggregator.dev/clinical/rules#${rule}`),
    activity: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'MERGE' }],
    },
    agent: [
      {
        type: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
              code: 'assembler',
            },
          ],
        },
        who: { display: 'fhir-aggregator clinical fact matching' },
      },
    ],
    entity: entry.sources.map((s) => ({
      role: 'source',
      what: { reference: `${s.resourceType}/${s.id}`, display: s.source },
    })),
  };
}
