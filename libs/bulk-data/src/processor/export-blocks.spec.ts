import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ExportPageCriteria, ExportRow } from '@fa/fhir-store';
import type { UnitCheckpoint } from '../domain/export-job';
import type { ExportProgressedData, ExportRequestedData, ExportUnit } from '../events/export-events';
import { writeBlocks } from './export-blocks';

const UNIT: ExportUnit = { key: 'blocks', type: 'Patient', kind: 'blocks' };

/** Three patients, each with a few resources of two types (one patient with none of one type). */
const STORE: { type: string; id: string; patient: string }[] = [
  ...['p1', 'p2', 'p3'].map((id) => ({ type: 'Patient', id, patient: id })),
  ...Array.from({ length: 9 }, (_, i) => ({ type: 'Observation', id: `o${i}`, patient: `p${(i % 2) + 1}` })),
  ...Array.from({ length: 5 }, (_, i) => ({ type: 'Condition', id: `c${i}`, patient: `p${(i % 3) + 1}` })),
];

function page(criteria: ExportPageCriteria): Promise<ExportRow[]> {
  const rows = STORE.filter(
    (r) =>
      r.type === criteria.resourceType &&
      (criteria.patients === 'any' || criteria.patients!.includes(r.patient)) &&
      (criteria.afterId === undefined || r.id > criteria.afterId),
  )
    .sort((a, b) => a.id.localeCompare(b.id))
    .slice(0, criteria.limit);
  return Promise.resolve(
    rows.map((r) => ({
      id: r.id,
      versionId: 1,
      recordedFrom: new Date(0),
      eventId: r.id,
      // Padded so that a few lines fill a part.
      json: JSON.stringify({ resourceType: r.type, id: r.id, note: 'x'.repeat(60) }),
    })),
  );
}

const request = (patients?: string[]): ExportRequestedData => ({
  jobId: 'j',
  clientId: 'c',
  request: 'http://x/fhir/Patient/$export',
  level: 'patient',
  transactionTime: new Date().toISOString(),
  types: ['Observation', 'Condition', 'Patient'],
  typeFilters: {},
  includeProvenance: false,
  constraints: {},
  errors: [],
  expiresAfterMs: 1000,
  organizeOutputBy: 'Patient',
  ...(patients ? { patients } : {}),
});

/**
 * Runs the unit to completion, "crashing" (the process dies) at every `crashEvery`-th checkpoint and resuming
 * from the last one appended; the files' lines, in part order ('|' between parts).
 */
async function run(dir: string, req: ExportRequestedData, crashEvery?: number): Promise<string[]> {
  let checkpoint: UnitCheckpoint | undefined;
  for (let attempt = 0; attempt < 100; attempt++) {
    let since = 0;
    const crash = new Error('killed');
    try {
      const result = await writeBlocks(
        {
          dir,
          maxFileBytes: 400,
          pageSize: 2,
          page,
          checkpoint: (progress: Omit<ExportProgressedData, 'unit'>) => {
            since++;
            const crashing = crashEvery !== undefined && since >= crashEvery && !progress.done;
            // An odd crashEvery dies after its checkpoint was appended, an even one before (lines lost).
            if (!crashing || crashEvery % 2 === 1)
              checkpoint = { ...progress, parts: progress.parts.map((p) => ({ ...p })) };
            if (crashing) return Promise.reject(crash);
            return Promise.resolve(true);
          },
          stopping: () => false,
        },
        req,
        UNIT,
        checkpoint,
      );
      expect(result).not.toBe('stopped');
      break;
    } catch (error) {
      if (error !== crash) throw error;
    }
  }
  expect(checkpoint?.done).toBe(true);
  const lines: string[] = [];
  for (const part of checkpoint!.parts) {
    const text = await fs.readFile(path.join(dir, part.file), 'utf8');
    expect(Buffer.byteLength(text)).toBe(part.bytes);
    const partLines = text.split('\n').filter(Boolean);
    expect(partLines).toHaveLength(part.count);
    lines.push(
      ...partLines.map((l) =>
        l.includes('"header"')
          ? `H:${JSON.parse(l).parameter[0].valueReference.reference}`
          : JSON.parse(l).id,
      ),
    );
    lines.push('|');
  }
  return lines;
}

describe('writeBlocks (organizeOutputBy=Patient)', () => {
  let root: string;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-blocks-'));
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  it('writes a block per patient: header, the patient, its resources; a block split across parts repeats its header', async () => {
    const lines = await run(path.join(root, 'once'), request());
    const text = lines.join(' ');
    expect(text.startsWith('H:Patient/p1 p1 ')).toBe(true);
    // Every resource once, each after its own patient's header.
    let current = '';
    const seen = new Set<string>();
    for (const line of lines) {
      if (line.startsWith('H:')) current = line.slice('H:Patient/'.length);
      else if (line !== '|') {
        expect([line, STORE.find((r) => r.id === line)!.patient]).toEqual([line, current]);
        expect(seen.has(line)).toBe(false);
        seen.add(line);
      }
    }
    expect(seen.size).toBe(STORE.length);
    // Each part after the first starts with a header.
    for (let i = 0; i < lines.length - 1; i++) if (lines[i] === '|') expect(lines[i + 1]).toMatch(/^H:/);
    expect(lines.filter((l) => l === '|').length).toBeGreaterThan(3);
  });

  it('resumed after a crash at any checkpoint, the files are the same as written in one go', async () => {
    const once = await run(path.join(root, 'once'), request());
    for (const crashEvery of [1, 2, 3, 4])
      expect(await run(path.join(root, `crash-${crashEvery}`), request(), crashEvery)).toEqual(once);
    const some = await run(path.join(root, 'some'), request(['p3', 'p1']));
    expect(some.filter((l) => l.startsWith('H:'))).toEqual(
      expect.arrayContaining(['H:Patient/p1', 'H:Patient/p3']),
    );
    expect(some).not.toContain('H:Patient/p2');
    expect(await run(path.join(root, 'some-crash'), request(['p3', 'p1']), 1)).toEqual(some);
  });
});
