import type { FactEntry } from './clinical-record';
import { featuresOf, KIND_OF_TYPE, timeOf } from './clinical-fact';

export interface TimelineItem {
  time: string;
  kind: string;
  resource: string;
  display: string;
  codes: string[];
  status: string | null;
  /** Every source resource of the fact, with its source. */
  sources: { reference: string; source: string }[];
}

type Json = Record<string, unknown>;

function displayOf(resource: Json): string {
  const concept = (resource.code ??
    resource.vaccineCode ??
    resource.medicationCodeableConcept ??
    (resource.type as unknown[] | undefined)?.[0]) as
    { text?: string; coding?: { display?: string; code?: string }[] } | undefined;
  return (
    concept?.text ??
    concept?.coding?.[0]?.display ??
    concept?.coding?.[0]?.code ??
    String(resource.resourceType)
  );
}

/** The patient's clinical facts with a clinically relevant time in [from, to), in time order (then by resource). */
export function clinicalTimeline(entries: readonly FactEntry[], from?: Date, to?: Date): TimelineItem[] {
  const items: (TimelineItem & { ms: number })[] = [];
  for (const entry of entries) {
    if (!KIND_OF_TYPE[entry.resourceType]) continue;
    const resource = entry.resource as unknown as Json;
    const ms = timeOf(resource);
    if (ms === null) continue;
    if ((from && ms < from.getTime()) || (to && ms >= to.getTime())) continue;
    const features = featuresOf(resource)!;
    items.push({
      ms,
      time: new Date(ms).toISOString(),
      kind: features.kind,
      resource: `${entry.resourceType}/${entry.id}`,
      display: displayOf(resource),
      codes: features.codes,
      status: features.status,
      sources: entry.sources.map((s) => ({ reference: `${s.resourceType}/${s.id}`, source: s.source })),
    });
  }
  items.sort((a, b) => a.ms - b.ms || a.resource.localeCompare(b.resource));
  return items.map(({ ms: _ms, ...item }) => item);
}
