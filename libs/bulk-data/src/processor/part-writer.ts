import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ExportPart } from '../events/export-events';

/**
 * Writes one unit's NDJSON lines into parts of at most `maxBytes` each (a line larger than that gets a part of
 * its own), resuming from a checkpoint: the last part is cut back to its checkpointed length and parts written
 * after the checkpoint are removed, so every line is in the files exactly once. Lines may belong to blocks
 * (organizeOutputBy): a block's header line is written before its first line, and again at the start of the next
 * part when the block goes on there (the part before is marked `continues`).
 */
export class PartWriter {
  private handle?: fs.FileHandle;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The header of the block being written, if any. */
  private block?: string;

  private constructor(
    private readonly dir: string,
    private readonly namePrefix: string,
    private readonly maxBytes: number,
    readonly parts: ExportPart[],
  ) {}

  static async resume(
    dir: string,
    namePrefix: string,
    maxBytes: number,
    checkpoint: readonly ExportPart[],
    openBlock?: string,
  ): Promise<PartWriter> {
    await fs.mkdir(dir, { recursive: true });
    const parts = checkpoint.map((p) => ({ ...p }));
    const kept = new Set(parts.map((p) => p.file));
    const ours = new RegExp(`^${namePrefix.replace(/[^A-Za-z0-9]/g, '\\$&')}-\\d+\\.ndjson$`);
    for (const name of await fs.readdir(dir)) {
      if (ours.test(name) && !kept.has(name)) await fs.rm(path.join(dir, name), { force: true });
    }
    const writer = new PartWriter(dir, namePrefix, maxBytes, parts);
    writer.block = openBlock;
    const last = parts.at(-1);
    if (last) {
      writer.handle = await fs.open(path.join(dir, last.file), 'r+');
      await writer.handle.truncate(last.bytes);
    }
    return writer;
  }

  /** Adds one resource's line (without its newline), in the block whose header is `block` when given. */
  async add(json: string, block?: string): Promise<void> {
    if (block !== undefined && block !== this.block) {
      this.block = block;
      await this.addLine(block, false);
    }
    await this.addLine(json, block !== undefined);
  }

  /** The header of the block written last (a blocks unit checkpoints whether its patient's block is open). */
  get openBlock(): string | undefined {
    return this.block;
  }

  private async addLine(json: string, inBlock: boolean): Promise<void> {
    const line = Buffer.from(`${json}\n`, 'utf8');
    let last = this.parts.at(-1);
    if (
      !last ||
      (last.bytes + this.pendingBytes > 0 && last.bytes + this.pendingBytes + line.length > this.maxBytes)
    ) {
      const continued = inBlock && last !== undefined;
      if (continued) last!.continues = true;
      await this.startPart();
      last = this.parts.at(-1)!;
      if (continued) this.push(Buffer.from(`${this.block!}\n`, 'utf8'), last);
    }
    this.push(line, last);
    if (this.pendingBytes >= 4 * 1024 * 1024) await this.write();
  }

  private push(line: Buffer, part: ExportPart): void {
    this.pending.push(line);
    this.pendingBytes += line.length;
    part.count += 1;
  }

  /** Everything added is on disk (fsynced): the parts may be checkpointed. */
  async sync(): Promise<ExportPart[]> {
    await this.write();
    await this.handle?.sync();
    return this.parts.map((p) => ({ ...p }));
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }

  private async write(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const last = this.parts.at(-1)!;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    await this.handle!.write(data, 0, data.length, last.bytes);
    last.bytes += data.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private async startPart(): Promise<void> {
    await this.write();
    if (this.handle) {
      await this.handle.sync();
      await this.handle.close();
    }
    const file = `${this.namePrefix}-${this.parts.length + 1}.ndjson`;
    this.handle = await fs.open(path.join(this.dir, file), 'w');
    this.parts.push({ file, count: 0, bytes: 0 });
  }
}
