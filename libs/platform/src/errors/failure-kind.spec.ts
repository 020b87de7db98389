import { classifyFailure, describeFailure, knownFailureKind, sqlStateOf } from './failure-kind';

const pgError = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('classifyFailure', () => {
  it.each([
    ['22P05', 'unsupported Unicode escape sequence'],
    ['22021', 'invalid byte sequence for encoding "UTF8": 0xc3 0x28'],
    ['22P02', 'invalid input syntax for type json'],
    ['54000', 'index row size 9000 exceeds btree version 4 maximum 2704'],
    ['23505', 'duplicate key value violates unique constraint'],
    ['23514', 'new row for relation "events" violates check constraint'],
    ['23502', 'null value in column violates not-null constraint'],
    ['57014', 'canceling statement due to statement timeout'],
  ])('SQLSTATE %s is permanent', (code, message) => {
    expect(classifyFailure(pgError(code, message))).toBe('permanent');
  });

  it.each([
    ['57P01', 'terminating connection due to administrator command'],
    ['57P03', 'the database system is starting up'],
    ['53300', 'sorry, too many clients already'],
    ['53100', 'could not extend file: No space left on device'],
    ['40001', 'could not serialize access due to concurrent update'],
    ['40P01', 'deadlock detected'],
    ['08006', 'connection failure'],
    ['55P03', 'could not obtain lock'],
    ['XX000', 'internal error'],
  ])('SQLSTATE %s is transient', (code, message) => {
    expect(classifyFailure(pgError(code, message))).toBe('transient');
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'])(
    'system error %s is transient',
    (code) => {
      expect(classifyFailure(Object.assign(new Error(`connect ${code}`), { code }))).toBe('transient');
    },
  );

  it('pg connection losses without a code are transient', () => {
    expect(classifyFailure(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(classifyFailure(new Error('timeout exceeded when trying to connect'))).toBe('transient');
    expect(classifyFailure(new TypeError('Client was closed and is not queryable; connection lost'))).toBe(
      'transient',
    );
  });

  it('deterministic JavaScript failures on the input are permanent', () => {
    expect(classifyFailure(new RangeError('Maximum call stack size exceeded'))).toBe('permanent');
    expect(classifyFailure(new RangeError('Invalid string length'))).toBe('permanent');
    expect(classifyFailure(new TypeError("Cannot read properties of null (reading 'coding')"))).toBe(
      'permanent',
    );
    expect(classifyFailure(Object.assign(new Error('bad input'), { permanent: true }))).toBe('permanent');
  });

  it('anything unknown is transient: retrying never loses data', () => {
    expect(classifyFailure(new Error('something odd'))).toBe('transient');
    expect(classifyFailure('a string')).toBe('transient');
    expect(classifyFailure(undefined)).toBe('transient');
    expect(classifyFailure(Object.assign(new Error('odd'), { code: 'E_WEIRD' }))).toBe('transient');
    expect(knownFailureKind(new Error('something odd'))).toBeUndefined();
    expect(knownFailureKind(pgError('57P01'))).toBe('transient');
    expect(knownFailureKind(new Error('Connection terminated unexpectedly'))).toBe('transient');
  });
});

describe('sqlStateOf and describeFailure', () => {
  it('reads SQLSTATEs only, and describes without the detail', () => {
    expect(sqlStateOf(pgError('22P05'))).toBe('22P05');
    expect(sqlStateOf(pgError('ECONNREFUSED'))).toBeUndefined();
    const error = Object.assign(pgError('23505', 'duplicate key value'), { detail: 'Key (x)=(Smith)' });
    expect(describeFailure(error)).toBe('PostgreSQL error 23505: duplicate key value');
    expect(describeFailure(new RangeError('Invalid string length'))).toBe(
      'RangeError: Invalid string length',
    );
  });
});
