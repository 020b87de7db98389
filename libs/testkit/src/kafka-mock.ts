import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

export interface KafkaMock {
  /** Bootstrap addresses (host:port) for a kafkajs client. */
  brokers: string[];
  /** Creates a topic (the mock broker does not implement CreateTopics, so go through this). */
  createTopic(name: string, partitions?: number): Promise<void>;
  /** Shuts the broker down and waits for its process to exit (a no-op with KAFKA_BROKERS). */
  stop(): Promise<void>;
  /** The mock broker's process id (undefined with KAFKA_BROKERS). */
  pid?: number;
}

export interface KafkaMockOptions {
  /** Topics to create up front. */
  topics?: string[];
  /** Partitions per topic (default 32: a mock partition keeps only ~5 MB, see mock-cluster.c). */
  partitions?: number;
}

const REPO = path.resolve(__dirname, '..', '..', '..');
const SOURCE = path.join(REPO, 'infra', 'kafka-mock', 'mock-cluster.c');
const BUILD_SCRIPT = path.join(REPO, 'infra', 'kafka-mock', 'build.sh');
const BINARY = path.join(REPO, '.test-data', 'kafka-mock', 'mock-cluster');
const STARTUP_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;
const DEFAULT_PARTITIONS = 32;

/**
 * A real Kafka-protocol broker for tests: librdkafka's mock cluster (infra/kafka-mock/mock-cluster.c),
 * built by infra/kafka-mock/build.sh (gcc; librdkafka from the system or fetched into .cache/librdkafka).
 * With KAFKA_BROKERS set (comma-separated), starts nothing and uses that cluster instead.
 */
export async function startKafkaMock(options: KafkaMockOptions = {}): Promise<KafkaMock> {
  const partitions = options.partitions ?? DEFAULT_PARTITIONS;
  const external = process.env.KAFKA_BROKERS;
  const mock = external ? useExternalBrokers(external, partitions) : await spawnMock(partitions);
  try {
    for (const topic of options.topics ?? []) await mock.createTopic(topic, partitions);
  } catch (err) {
    await mock.stop();
    throw err;
  }
  return mock;
}

function useExternalBrokers(list: string, defaultPartitions: number): KafkaMock {
  const brokers = list
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  return {
    brokers,
    createTopic: async (name, partitions = defaultPartitions) => {
      // Required lazily (and typed loosely) so this file compiles and the mock path works without kafkajs.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Kafka } = require('kafkajs') as { Kafka: new (config: object) => { admin(): KafkaAdmin } };
      const admin = new Kafka({ clientId: 'kafka-mock-test-support', brokers }).admin();
      await admin.connect();
      try {
        await admin.createTopics({
          topics: [{ topic: name, numPartitions: partitions }],
          waitForLeaders: true,
        });
      } finally {
        await admin.disconnect();
      }
    },
    stop: async () => undefined,
  };
}

interface KafkaAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  createTopics(options: {
    topics: { topic: string; numPartitions: number }[];
    waitForLeaders?: boolean;
  }): Promise<boolean>;
}

async function spawnMock(defaultPartitions: number): Promise<KafkaMock> {
  await ensureKafkaMockBinary();
  const child = spawn(BINARY, [String(defaultPartitions)], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => undefined); // EPIPE if it died: reported through 'exit' instead
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<number | string | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal));
    child.once('error', (err) => resolve(err.message)); // could not be spawned
  });
  const describeExit = (how: number | string | null) =>
    `kafka mock (${BINARY}) exited (${how})${stderr ? `: ${stderr.trim()}` : ''}`;

  // Replies to CREATE come back in order, one line each.
  const pending: { resolve: () => void; reject: (err: Error) => void }[] = [];
  let onBootstrap: (address: string) => void = () => undefined;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (line.startsWith('BOOTSTRAP ')) return onBootstrap(line.slice('BOOTSTRAP '.length).trim());
    const reply = pending.shift();
    if (line.startsWith('CREATED ')) reply?.resolve();
    else reply?.reject(new Error(`kafka mock: ${line}`)); // "ERROR <topic> <reason>"
  });
  void exited.then((how) => {
    for (const reply of pending.splice(0)) reply.reject(new Error(describeExit(how)));
  });

  let timer: NodeJS.Timeout | undefined;
  const address = await Promise.race([
    new Promise<string>((resolve) => (onBootstrap = resolve)),
    exited.then((how) => Promise.reject(new Error(describeExit(how)))),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`kafka mock printed no BOOTSTRAP line within ${STARTUP_TIMEOUT_MS} ms: ${stderr}`));
      }, STARTUP_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));

  let stopping: Promise<void> | undefined;
  return {
    brokers: address.split(','),
    pid: child.pid,
    createTopic: (name, partitions = defaultPartitions) => {
      if (!/^[A-Za-z0-9._-]{1,249}$/.test(name)) return Promise.reject(new Error(`bad topic name: ${name}`));
      if (!Number.isInteger(partitions) || partitions < 1)
        return Promise.reject(new Error(`bad partition count: ${partitions}`));
      if (child.exitCode !== null || child.signalCode !== null)
        return Promise.reject(new Error(describeExit(child.exitCode ?? child.signalCode)));
      return new Promise<void>((resolve, reject) => {
        pending.push({ resolve, reject });
        child.stdin.write(`CREATE ${name} ${partitions}\n`);
      });
    },
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.stdin.end(); // the mock exits when its stdin closes
        const escalate = setTimeout(() => child.kill('SIGTERM'), STOP_GRACE_MS);
        const kill = setTimeout(() => child.kill('SIGKILL'), 2 * STOP_GRACE_MS);
        await exited;
        clearTimeout(escalate);
        clearTimeout(kill);
        lines.close();
      })()),
  };
}

/**
 * Builds mock-cluster.c into .test-data/kafka-mock/ unless the binary is newer than its source and build
 * script. infra/kafka-mock/build.sh uses the system's librdkafka or fetches Debian's packages into
 * .cache/librdkafka by itself; when neither works it says what to install. The global setup calls this once
 * before any test runs, so a machine that cannot build the broker stops the run at once with that message.
 */
export async function ensureKafkaMockBinary(): Promise<void> {
  const inputsTime = Math.max(fs.statSync(SOURCE).mtimeMs, fs.statSync(BUILD_SCRIPT).mtimeMs);
  const binaryTime = fs.statSync(BINARY, { throwIfNoEntry: false })?.mtimeMs;
  if (binaryTime !== undefined && binaryTime >= inputsTime) return;
  try {
    await promisify(execFile)('bash', [BUILD_SCRIPT, BINARY], { cwd: REPO });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    throw new Error(`kafka mock: cannot build ${SOURCE}\n${e.stderr?.trim() || e.message}`);
  }
}
