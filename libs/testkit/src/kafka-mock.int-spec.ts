import * as net from 'node:net';
import { KafkaMock, startKafkaMock } from './kafka-mock';

/** Opens a TCP connection to host:port (rejects with e.g. ECONNREFUSED). */
function connect(address: string): Promise<net.Socket> {
  const [host, port] = splitAddress(address);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

/** Topic name -> partition count, from a hand-written Metadata v0 request (Kafka wire protocol). */
async function topicPartitions(address: string): Promise<Map<string, number>> {
  const socket = await connect(address);
  const clientId = Buffer.from('kafka-mock-spec');
  const request = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length + 4);
  let o = request.writeInt32BE(request.length - 4, 0); // size
  o = request.writeInt16BE(3, o); // ApiKey Metadata
  o = request.writeInt16BE(0, o); // ApiVersion 0
  o = request.writeInt32BE(7, o); // CorrelationId
  o = request.writeInt16BE(clientId.length, o);
  o += clientId.copy(request, o);
  request.writeInt32BE(0, o); // no topics listed: all topics
  socket.write(request);

  const chunks: Buffer[] = [];
  for await (const chunk of socket) {
    chunks.push(chunk as Buffer);
    const data = Buffer.concat(chunks);
    if (data.length >= 4 && data.length >= 4 + data.readInt32BE(0)) break;
  }
  socket.destroy();
  const data = Buffer.concat(chunks);
  let p = 4;
  const i16 = () => ((p += 2), data.readInt16BE(p - 2));
  const i32 = () => ((p += 4), data.readInt32BE(p - 4));
  const str = () => data.toString('utf8', p + 2, (p += 2 + data.readInt16BE(p)));
  expect(i32()).toBe(7); // CorrelationId
  for (let brokers = i32(); brokers > 0; brokers--) {
    i32(); // NodeId
    str(); // Host
    i32(); // Port
  }
  const topics = new Map<string, number>();
  for (let n = i32(); n > 0; n--) {
    i16(); // ErrorCode
    const name = str();
    const partitions = i32();
    for (let k = 0; k < partitions; k++) {
      p += 2 + 4 + 4; // ErrorCode, PartitionIndex, LeaderId
      for (let replicas = i32(); replicas > 0; replicas--) i32();
      for (let isr = i32(); isr > 0; isr--) i32();
    }
    topics.set(name, partitions);
  }
  return topics;
}

const external = !!process.env.KAFKA_BROKERS;

describe('startKafkaMock (librdkafka mock cluster)', () => {
  let kafka: KafkaMock | undefined;

  afterEach(async () => {
    await kafka?.stop();
    kafka = undefined;
  });

  it('serves the Kafka protocol on the bootstrap address until stopped', async () => {
    kafka = await startKafkaMock({ topics: ['probe'], partitions: 4 });
    expect(kafka.brokers).toHaveLength(1);
    expect(kafka.brokers[0]).toMatch(/^[^:,\s]+:\d+$/);

    (await connect(kafka.brokers[0])).destroy();
    expect((await topicPartitions(kafka.brokers[0])).get('probe')).toBe(4);
    if (external) return;

    const pid = kafka.pid ?? -1;
    expect(pid).toBeGreaterThan(0);
    await kafka.stop();
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    await expect(connect(kafka.brokers[0])).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await kafka.stop(); // idempotent
  });

  (external ? it.skip : it)('creates topics at run time and reports failures', async () => {
    kafka = await startKafkaMock();
    await kafka.createTopic('late');
    await kafka.createTopic('small', 2);
    const topics = await topicPartitions(kafka.brokers[0]);
    expect(topics.get('late')).toBe(32);
    expect(topics.get('small')).toBe(2);
    await expect(kafka.createTopic('late')).rejects.toThrow(/already exists/i);
    await expect(kafka.createTopic('bad name')).rejects.toThrow(/bad topic name/);
  });
});
