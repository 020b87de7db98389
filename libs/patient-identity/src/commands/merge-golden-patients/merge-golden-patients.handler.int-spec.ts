import { PostgresEventStore } from '@fa/event-store';
import { createTestDatabase, TestDatabase } from '@fa/testkit';
import { IdentityCommandRejected } from '../../domain/identity-command.errors';
import { GOLDEN_PATIENTS_MERGED, identityStreamId } from '../../domain/identity-events';
import { GoldenPatientStreams } from '../golden-patient-streams';
import { appendsMeetingAt, goldenPatientNow, seedGoldenPatient } from '../testing/identity-streams';
import { MergeGoldenPatientsCommand } from './merge-golden-patients.command';
import { MergeGoldenPatientsHandler } from './merge-golden-patients.handler';

describe('MergeGoldenPatientsHandler over PostgreSQL', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await createTestDatabase(10);
    store = new PostgresEventStore(database.pool);
    await store.migrate();
  });
  afterAll(() => database?.drop());

  it('two reviewers merge the same golden patient at once: exactly one wins, the other is a conflict', async () => {
    await seedGoldenPatient(store, 'ga', ['a1', 'a2']);
    await seedGoldenPatient(store, 'gb', ['b1']);
    await seedGoldenPatient(store, 'gc', ['c1']);
    // Both read every stream before either appends.
    const handler = new MergeGoldenPatientsHandler(new GoldenPatientStreams(appendsMeetingAt(store, 2)));
    const results = await Promise.allSettled([
      handler.execute(new MergeGoldenPatientsCommand('ga', 'gb', 'dr.one', 'request-1')),
      handler.execute(new MergeGoldenPatientsCommand('ga', 'gc', 'dr.two', 'request-2')),
    ]);

    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(won).toHaveLength(1);
    expect(won[0].moved).toEqual(['a1', 'a2']);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(IdentityCommandRejected);
    expect((lost[0] as IdentityCommandRejected).reason).toBe('concurrent-change');
    expect((lost[0] as Error).message).toMatch(/Patient\/g[abc] changed .*retry/);

    // The streams tell one story: ga merged once, its members in the winner only, the loser untouched.
    const winner = won[0].intoGoldenId;
    const loser = winner === 'gb' ? 'gc' : 'gb';
    const ga = await goldenPatientNow(store, 'ga');
    expect([ga.mergedInto, ga.members.size]).toEqual([winner, 0]);
    expect([...(await goldenPatientNow(store, winner)).members.keys()].sort()).toEqual(
      [winner === 'gb' ? 'b1' : 'c1', 'a1', 'a2'].sort(),
    );
    expect([...(await goldenPatientNow(store, loser)).members.keys()]).toEqual([
      loser === 'gb' ? 'b1' : 'c1',
    ]);
    const merges = (await store.readStream(identityStreamId('ga'))).filter(
      (e) => e.type === GOLDEN_PATIENTS_MERGED,
    );
    expect(merges).toHaveLength(1);
    expect((await store.readStream(identityStreamId(loser))).map((e) => e.type)).toEqual([
      'GoldenPatientCreated',
      'PatientLinked',
    ]);
  });

  it('decides on the stream, not the read model: a merged golden patient is refused at once', async () => {
    await seedGoldenPatient(store, 'gd', ['d1']);
    await seedGoldenPatient(store, 'ge', ['e1']);
    const handler = new MergeGoldenPatientsHandler(new GoldenPatientStreams(store));
    await handler.execute(new MergeGoldenPatientsCommand('gd', 'ge', 'dr.one', 'request-3'));
    // No projection runs here: only the streams know that gd is merged.
    await expect(
      handler.execute(new MergeGoldenPatientsCommand('gd', 'ge', 'dr.two', 'request-4')),
    ).rejects.toMatchObject({ reason: 'golden-merged' });
    await expect(
      handler.execute(new MergeGoldenPatientsCommand('gx', 'ge', 'dr.two', 'request-5')),
    ).rejects.toMatchObject({ reason: 'unknown-golden' });
  });
});
