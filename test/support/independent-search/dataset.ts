import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { references, Resource, strings } from './fhir-values';

/** `<Type>/<source id>`: how the tests name a resource independently of the ids the server assigns. */
export type SourceKey = string;

export const keyOf = (resource: Resource): SourceKey => `${resource.resourceType}/${resource.id}`;

/** Reads every `*.ndjson.gz` / `*.ndjson` file of a folder. */
export async function readNdjsonFolder(folder: string): Promise<Resource[]> {
  const out: Resource[] = [];
  for (const name of (await fs.readdir(folder)).sort()) {
    if (!/\.ndjson(\.gz)?$/.test(name)) continue;
    const bytes = await fs.readFile(path.join(folder, name));
    const text = (name.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
    for (const line of text.split('\n')) if (line.trim() !== '') out.push(JSON.parse(line) as Resource);
  }
  return out;
}

/** One source's resources as the source sent them (source ids, source references). */
export class Dataset {
  private readonly byKey = new Map<SourceKey, Resource>();
  private readonly byType = new Map<string, Resource[]>();
  private readonly byIdentifier = new Map<string, Resource[]>();
  private readonly referrers = new Map<string, Map<SourceKey, Resource[]>>();

  constructor(resources: Iterable<Resource>) {
    for (const resource of resources) this.byKey.set(keyOf(resource), resource);
    for (const resource of this.byKey.values()) {
      const list = this.byType.get(resource.resourceType) ?? [];
      list.push(resource);
      this.byType.set(resource.resourceType, list);
      for (const identifier of (resource.identifier ?? []) as Record<string, unknown>[]) {
        const [system] = strings(identifier, 'system');
        const [value] = strings(identifier, 'value');
        if (value === undefined) continue;
        const k = `${resource.resourceType}?${system ?? ''}|${value}`;
        this.byIdentifier.set(k, [...(this.byIdentifier.get(k) ?? []), resource]);
      }
    }
  }

  /** The same data with some resources replaced by new versions (same type and id). */
  withReplacements(changed: Resource[]): Dataset {
    const merged = new Map(this.byKey);
    for (const resource of changed) {
      if (!merged.has(keyOf(resource))) throw new Error(`test bug: ${keyOf(resource)} is not in the data`);
      merged.set(keyOf(resource), resource);
    }
    return new Dataset(merged.values());
  }

  get size(): number {
    return this.byKey.size;
  }

  types(): string[] {
    return [...this.byType.keys()].sort();
  }

  ofType(type: string): Resource[] {
    return this.byType.get(type) ?? [];
  }

  get(key: SourceKey): Resource | undefined {
    return this.byKey.get(key);
  }

  all(): IterableIterator<Resource> {
    return this.byKey.values();
  }

  /**
   * The resource a source reference points at: `Type/id` literally, or `Type?identifier=system|value` to the one
   * resource of that type in this source carrying that identifier.
   */
  resolve(reference: string): Resource | undefined {
    const literal = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]+)$/.exec(reference);
    if (literal) return this.byKey.get(`${literal[1]}/${literal[2]}`);
    const conditional = /^([A-Z][A-Za-z]+)\?identifier=([^&]*)$/.exec(reference);
    if (!conditional) return undefined;
    const matches = this.byIdentifier.get(`${conditional[1]}?${conditional[2]}`) ?? [];
    return matches.length === 1 ? matches[0] : undefined;
  }

  /** Resources of `type` with a literal reference to `target` at `path` (indexed once per type and path). */
  referencing(type: string, path: string, target: SourceKey): Resource[] {
    const indexKey = `${type} ${path}`;
    let byTarget = this.referrers.get(indexKey);
    if (!byTarget) {
      byTarget = new Map();
      for (const resource of this.ofType(type)) {
        for (const reference of new Set(references(resource, path))) {
          byTarget.set(reference, [...(byTarget.get(reference) ?? []), resource]);
        }
      }
      this.referrers.set(indexKey, byTarget);
    }
    return byTarget.get(target) ?? [];
  }
}
