import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * Makes `directory` for its owner only (mode 0700). The folders above it, when missing, get the default mode:
 * a DATA_DIR made 0700 by the first private folder in it (the key ring, a client's keys) would lock the embedded
 * PostgreSQL's own user out of its data directory beneath it.
 */
export async function makePrivateDirectory(directory: string): Promise<void> {
  await fs.mkdir(path.dirname(path.resolve(directory)), { recursive: true });
  await fs.mkdir(directory, { recursive: true, mode: 0o700 });
}
