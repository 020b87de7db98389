// Jest setupFiles: each worker's test files use that worker's own PostgreSQL server (see test/global-setup.ts).
const own = process.env[`DATABASE_URL_WORKER_${process.env.JEST_WORKER_ID ?? '1'}`];
if (own) process.env.DATABASE_URL = own;
