import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '@fa/event-store';
import { createTestDatabase, TestDatabase } from '@fa/testkit';
import { identityStreamId } from '../../domain/identity-events';
import { IdentityReader } from '../../queries/identity.reader';
import { GoldenPatientStreams } from '../golden-patient-streams';
import { appendsAfter, goldenPatientNow, matcherLink, seedGoldenPatient } from '../testing/identity-streams';
import { UpdateLinkCommand } from './update-link.command';
import { UpdateLinkHandler } from './update-link.handler';

describe('UpdateLinkHandler over PostgreSQL', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await createTestDatabase(10);
    store = new PostgresEventStore(database.pool);
    await store.migrate();
  });
  afterAll(() => database?.drop());

  it('a reviewer and the matcher interleave: the reviewer gets a conflict and nothing is written', async () => {
    await seedGoldenPatient(store, 'g1', ['a', 'x']);
    const before = (await store.readStream(identityStreamId('g1'))).length;
    // The matcher links y into g1 after the reviewer read g1 and before the reviewer appends.
    const matcherMeanwhile = () =>
      store.append(identityStreamId('g1'), [{ id: randomUUID(), ...matcherLink('g1', 'y') }]);
    const handler = new UpdateLinkHandler(
      new GoldenPatientStreams(appendsAfter(store, matcherMeanwhile)),
      new IdentityReader(database.pool),
    );
    await expect(
      handler.execute(new UpdateLinkCommand('g1', 'x', 'NO_MATCH', 'dr.review', 'request-1')),
    ).rejects.toMatchObject({
      reason: 'concurrent-change',
      message: expect.stringMatching(/Patient\/g1 changed/),
    });
    expect((await store.readStream(identityStreamId('g1'))).length).toBe(before + 1);
    expect([...(await goldenPatientNow(store, 'g1')).members.keys()]).toEqual(['a', 'x', 'y']);
  });

  it("decides on the golden patient's stream: the retry separates the source patient", async () => {
    const handler = new UpdateLinkHandler(new GoldenPatientStreams(store), new IdentityReader(database.pool));
    const result = await handler.execute(
      new UpdateLinkCommand('g1', 'x', 'NO_MATCH', 'dr.review', 'request-2'),
    );
    expect(result.goldenId).not.toBe('g1');
    expect([...(await goldenPatientNow(store, 'g1')).members.keys()]).toEqual(['a', 'y']);
    const separated = await goldenPatientNow(store, result.goldenId);
    expect([separated.created, [...separated.members]]).toEqual([
      true,
      [['x', { source: 'hospital-a', manual: true }]],
    ]);
  });
});
