import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { sqlStateOf } from '@fa/platform';
import type { AccessRecord } from '@fa/audit';
import { accessRecordOf } from './access-record-of';

export type RecordAccess = (record: AccessRecord) => Promise<void>;

type Chunk = string | Buffer | Uint8Array;
type Callback = (error?: Error | null) => void;

/** A streamed answer is recorded and released in parts of about this size: memory stays bounded. */
export const AUDIT_PART_BYTES = 1024 * 1024;

/**
 * The access audit's hook on the one place every answer leaves: the response's own write/end. Whatever produced
 * the answer — a handler's sendFhir, Nest returning a value, a stream of rows, the exception filter's
 * OperationOutcome for an error or a guard's refusal — its bytes are held until its audit record is committed
 * (group commit: see AccessJournal), then sent. A streamed answer is held and recorded in parts of
 * AUDIT_PART_BYTES (numbered records, each before its bytes leave), the writer held back by 'drain'. When the
 * record cannot be written the answer is withheld: 503 with an OperationOutcome (or a closed connection for a
 * streamed answer), so no data leaves unaudited.
 *
 * What is audited is decided by the route's declared access policy: every resource or scope route; a public
 * route when it established a principal (a token grant) or refused the request (4xx: a refused grant); a route
 * without a policy always (it should not exist). Requests no route took (refused by the body limits or input
 * hygiene before routing) touched nothing and are not audited.
 */
export function accessAudit(recordAccess: RecordAccess, log: Logger) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const write = response.write.bind(response) as (chunk: Buffer) => boolean;
    const end = response.end.bind(response) as (chunk?: Chunk, callback?: () => void) => Response;
    let held: Buffer[] = [];
    let heldBytes = 0;
    let parts = 0;
    let ended = false;
    // Parts are recorded and released in order; false once the answer was withheld.
    let sending: Promise<boolean> = Promise.resolve(true);

    /** Records the held bytes (the whole answer, or the next part of a streamed one), then lets them go. */
    const release = (last: boolean, done?: () => void) => {
      const bytes = held.length === 1 ? held[0] : Buffer.concat(held);
      held = [];
      heldBytes = 0;
      const part = last && parts === 0 ? undefined : ++parts;
      sending = sending
        .then(async (open) => {
          if (!open) return false;
          const record = accessRecordOf(request, response, bytes, part);
          if (record) {
            try {
              await recordAccess(record);
            } catch (error) {
              log.warn(
                { requestId: record.requestId, route: record.route, part, sqlState: sqlStateOf(error) },
                'access audit unavailable: response withheld',
              );
              if (last && part === undefined) withhold(response, end, done);
              else response.destroy();
              return false;
            }
          }
          if (last) end(bytes, done);
          else if (write(bytes)) response.emit('drain');
          return true;
        })
        .catch(() => {
          response.destroy();
          return false;
        });
    };

    response.write = function (chunk: Chunk, encoding?: BufferEncoding | Callback, callback?: Callback) {
      if (ended) return false;
      const buffer = toBuffer(chunk, typeof encoding === 'string' ? encoding : undefined);
      held.push(buffer);
      heldBytes += buffer.length;
      const done = typeof encoding === 'function' ? encoding : callback;
      if (done) process.nextTick(done);
      if (heldBytes < AUDIT_PART_BYTES) return true;
      // The writer waits for 'drain', emitted once this part is recorded and handed to the socket.
      release(false);
      return false;
    } as Response['write'];
    response.end = function (
      chunk?: Chunk | (() => void),
      encoding?: BufferEncoding | (() => void),
      callback?: () => void,
    ) {
      if (ended) return response;
      ended = true;
      const done = [chunk, encoding, callback].find((a) => typeof a === 'function') as
        (() => void) | undefined;
      if (chunk !== undefined && typeof chunk !== 'function')
        held.push(toBuffer(chunk, typeof encoding === 'string' ? encoding : undefined));
      release(true, done);
      return response;
    } as Response['end'];
    next();
  };
}

function toBuffer(chunk: Chunk, encoding: BufferEncoding | undefined): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding ?? 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
}

const WITHHELD = JSON.stringify({
  resourceType: 'OperationOutcome',
  issue: [
    {
      severity: 'error',
      code: 'transient',
      diagnostics:
        'The access audit could not record this request, so its answer is withheld; try again later',
    },
  ],
});

function withhold(
  response: Response,
  end: (chunk?: Chunk, callback?: () => void) => Response,
  done?: () => void,
) {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  for (const name of response.getHeaderNames()) if (name !== 'x-request-id') response.removeHeader(name);
  response.statusCode = 503;
  response.setHeader('Retry-After', '5');
  response.setHeader('Content-Type', 'application/fhir+json; charset=utf-8');
  end(WITHHELD, done);
}
