import { createReadStream, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { openAggregatorRuntime } from '@fa/composition';
import type { EventStoreRuntime } from '@fa/event-store';
import { seededRandom } from '@fa/patient-identity';
import { createEmptyDatabase } from '@fa/testkit';

/** The data and stores the scenarios run on: fresh databases, scaled copies of a dataset, two-phase splits. */

/** A dataset on disk: a folder of NDJSON files. */
export interface Dataset {
  dir: string;
  resources: number;
  bytes: number;
}

/** A fresh database on the bench's embedded PostgreSQL (or BENCH_DATABASE_URL's server). */
export const freshDatabase = async (serverUrl: string) => (await createEmptyDatabase(serverUrl, 'bench')).url;

/**
 * Writes `scale` copies of the dataset as NDJSON files: the same shape, fresh ids (references follow), and each
 * copy's dates (YYYY-MM-DD, with or without a time) shifted by its own whole number of days, up to ten years
 * back, drawn from `seed`: deterministic, and copies are distinct patients' histories rather than clones.
 */
export async function scaledCopy(dataDir: string, scale: number, seed = 1): Promise<Dataset> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `fa-bench-x${scale}-`));
  const random = seededRandom(seed);
  const shiftDays = Array.from({ length: scale }, (_, copy) =>
    copy === 0 ? 0 : -Math.floor(random() * 3650),
  );
  let resources = 0;
  let bytes = 0;
  for (const name of (await fs.readdir(dataDir)).filter((n) => /\.ndjson(\.gz)?$/.test(n))) {
    const chunks: Buffer[] = [];
    const input = createReadStream(path.join(dataDir, name));
    await pipeline(
      name.endsWith('.gz') ? input.pipe(createGunzip()) : input,
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) chunks.push(chunk);
      },
    );
    const lines = Buffer.concat(chunks)
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim());
    // One copy at a time straight to the file: at 100x a file's text would pass V8's longest string.
    const file = await fs.open(path.join(dir, name.replace(/\.gz$/, '')), 'w');
    try {
      for (let copy = 0; copy < scale; copy++) {
        const suffix = copy === 0 ? '' : `-x${copy}`;
        const text =
          lines
            .map((line) =>
              suffix
                ? shiftDates(
                    line
                      .replace(/"id":"([^"]+)"/, `"id":"$1${suffix}"`)
                      .replace(/"reference":"([A-Z][A-Za-z]+)\/([^"/?]+)"/g, `"reference":"$1/$2${suffix}"`),
                    shiftDays[copy],
                  )
                : line,
            )
            .join('\n') + '\n';
        await file.write(text);
        resources += lines.length;
        bytes += Buffer.byteLength(text);
      }
    } finally {
      await file.close();
    }
  }
  return { dir, resources, bytes };
}

/** Every JSON string value starting with a full date (YYYY-MM-DD), moved by `days`; the rest of it is kept. */
export function shiftDates(line: string, days: number): string {
  return line.replace(/"(\d{4})-(\d{2})-(\d{2})(?=[T"])/g, (_, year: string, month: string, day: string) => {
    const shifted = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)) + days * 86_400_000);
    return `"${shifted.toISOString().slice(0, 10)}`;
  });
}

export async function openRuntime(url: string): Promise<EventStoreRuntime> {
  return openAggregatorRuntime({ databaseUrl: url, dataDir: '' }, { poolSize: 12, idleDelayMs: 10 });
}

/**
 * The dataset in two ingests for searches at a point in time: the first holds every patient and directory resource
 * (Practitioner, Organization, ...) and every other line of each clinical file (the files run patient by patient, so
 * every patient has about half of its records in each); the second the other lines, a new version of every patient
 * and a new version of every 4th clinical resource of the first.
 */
export async function twoPhases(
  dataDir: string,
): Promise<{ first: string; second: string; versions: [number, number] }> {
  const first = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-bench-phase1-'));
  const second = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-bench-phase2-'));
  const directory = new Set(['Patient', 'Practitioner', 'PractitionerRole', 'Organization', 'Location']);
  const changed = (line: string) => {
    const resource = JSON.parse(line) as Record<string, unknown>;
    const extension = [
      ...((resource.extension as unknown[]) ?? []),
      { url: 'http://example.org/bench-phase', valueInteger: 2 },
    ];
    return JSON.stringify({ ...resource, extension });
  };
  const versions: [number, number] = [0, 0];
  for (const name of (await fs.readdir(dataDir)).filter((n) => n.endsWith('.ndjson'))) {
    const lines = (await fs.readFile(path.join(dataDir, name), 'utf8')).split('\n').filter((l) => l.trim());
    const type = name.replace('.ndjson', '');
    const early = directory.has(type) ? lines : lines.filter((_, i) => i % 2 === 0);
    const late = [
      ...(directory.has(type) ? [] : lines.filter((_, i) => i % 2 === 1)),
      ...early
        .filter((_, i) => (type === 'Patient' ? true : !directory.has(type) && i % 4 === 0))
        .map(changed),
    ];
    await fs.writeFile(path.join(first, name), early.join('\n') + '\n');
    if (late.length > 0) await fs.writeFile(path.join(second, name), late.join('\n') + '\n');
    versions[0] += early.length;
    versions[1] += late.length;
  }
  return { first, second, versions };
}
