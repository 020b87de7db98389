import type { Kafka } from 'kafkajs';
import { eventually } from './eventually';

export interface DeadLetter {
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Reads a dead-letter topic from its start until at least `atLeast` dead letters match, then a moment more (so
 * one too many would be seen); returns those that match.
 */
export async function readDeadLetters(
  kafka: Kafka,
  topic: string,
  atLeast: number,
  which: (d: DeadLetter) => boolean = () => true,
): Promise<DeadLetter[]> {
  const consumer = kafka.consumer({ groupId: `dlq-reader-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const deadLetters: DeadLetter[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      deadLetters.push({
        value: message.value,
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
      });
    },
  });
  await eventually(
    async () => deadLetters.filter(which).length,
    (n) => n >= atLeast,
    30_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  await consumer.disconnect();
  return deadLetters.filter(which);
}
