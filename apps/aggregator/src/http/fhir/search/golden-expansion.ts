import type { QueryBus } from '@nestjs/cqrs';
import type { SearchFilter } from '@fa/fhir';
import { QueryLinksQuery } from '@fa/patient-identity';

/** The most members one golden patient expands to (links are per source patient: a few per person). */
const MAX_MEMBERS = 10_000;

/**
 * `subject:mdm=Patient/<id>` (HAPI MDM's expansion): a golden patient stands for every source patient linked
 * to it by a MATCH at the instant searched, and a source patient for every patient linked to the same golden
 * one. The links come from Patient Identity over the query bus, as of the search's instant (`_asOf`); the filter
 * becomes the fhir-store's reference set, so the store needs no notion of identity. Chains and `_has` are
 * expanded inside as well.
 */
export async function expandGoldenReferences(
  queryBus: QueryBus,
  filters: SearchFilter[],
  asOf: Date | undefined,
): Promise<SearchFilter[]> {
  const expand = async (filter: SearchFilter): Promise<SearchFilter> => {
    switch (filter.kind) {
      case 'reference': {
        if (!filter.mdm) return filter;
        const targets = new Map<string, { type: string; id: string }>();
        for (const value of filter.values) {
          if (value.id === undefined) continue;
          for (const id of await membersOf(queryBus, value.id, asOf))
            targets.set(id, { type: 'Patient', id });
        }
        return {
          kind: 'referenceSet',
          parameter: filter.parameter,
          param: filter.definition.code,
          targets: [...targets.values()],
        };
      }
      case 'chain':
        return {
          ...filter,
          targets: await Promise.all(
            filter.targets.map(async (t) => ({ ...t, filter: await expand(t.filter) })),
          ),
        };
      case 'has':
        return { ...filter, filter: await expand(filter.filter) };
      default:
        return filter;
    }
  };
  const out: SearchFilter[] = [];
  for (const filter of filters) out.push(await expand(filter));
  return out;
}

/** The source patients a golden id stands for; for a source patient id, its golden patient's members (or itself). */
async function membersOf(queryBus: QueryBus, id: string, asOf: Date | undefined): Promise<string[]> {
  const links = async (goldenId: string) =>
    (
      await queryBus.execute(
        new QueryLinksQuery({ goldenId, matchResult: 'MATCH', asOf, limit: MAX_MEMBERS }),
      )
    ).links;
  const members = await links(id);
  if (members.length > 0) return members.map((link) => link.sourcePatientId);
  const own = (
    await queryBus.execute(new QueryLinksQuery({ sourcePatientId: id, matchResult: 'MATCH', asOf, limit: 1 }))
  ).links;
  if (own.length === 0) return [id];
  return (await links(own[0].goldenId)).map((link) => link.sourcePatientId);
}

/** The source patients a Group member stands for: a golden patient's linked source patients, else itself. */
export async function sourcePatientsOf(
  queryBus: QueryBus,
  id: string,
  asOf: Date | undefined,
): Promise<string[]> {
  const { links } = await queryBus.execute(
    new QueryLinksQuery({ goldenId: id, matchResult: 'MATCH', asOf, limit: MAX_MEMBERS }),
  );
  return links.length > 0 ? links.map((link) => link.sourcePatientId) : [id];
}
