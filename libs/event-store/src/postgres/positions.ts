import { GlobalPosition, START_OF_LOG } from '../event-store.port';

/**
 * The PostgreSQL adapter's positions: "<transaction id>:<global position>", both unsigned 64-bit integers, in
 * the order readers see the log. Only this adapter looks inside; everyone else compares through the port.
 */
export function parsePosition(position: GlobalPosition): { transactionId: string; globalPosition: string } {
  if (position === START_OF_LOG) return { transactionId: '0', globalPosition: '0' };
  const match = /^(\d{1,20}):(\d{1,20})$/.exec(position);
  if (!match) throw new Error(`Not an event store position: ${JSON.stringify(position)}`);
  return { transactionId: match[1], globalPosition: match[2] };
}

export function formatPosition(transactionId: string, globalPosition: string): GlobalPosition {
  return `${transactionId}:${globalPosition}`;
}

export function comparePositions(a: GlobalPosition, b: GlobalPosition): number {
  const pa = parsePosition(a);
  const pb = parsePosition(b);
  const tx = BigInt(pa.transactionId) - BigInt(pb.transactionId);
  if (tx !== 0n) return tx < 0n ? -1 : 1;
  const gp = BigInt(pa.globalPosition) - BigInt(pb.globalPosition);
  return gp === 0n ? 0 : gp < 0n ? -1 : 1;
}
