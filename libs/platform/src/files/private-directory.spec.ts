import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makePrivateDirectory } from './private-directory';

describe('makePrivateDirectory', () => {
  it('makes the directory 0700 and the missing folders above it with the default mode', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'private-dir-'));
    try {
      const umask = process.umask();
      await makePrivateDirectory(path.join(root, 'data', 'auth'));
      expect((await fs.stat(path.join(root, 'data', 'auth'))).mode & 0o777).toBe(0o700 & ~umask);
      expect((await fs.stat(path.join(root, 'data'))).mode & 0o777).toBe(0o777 & ~umask);
      await makePrivateDirectory(path.join(root, 'data', 'auth'));
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
