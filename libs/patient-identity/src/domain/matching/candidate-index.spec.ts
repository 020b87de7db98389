import { InMemoryCandidateIndex } from './candidate-index';
import { features } from './testing/fixtures';

describe('InMemoryCandidateIndex', () => {
  it('returns records sharing a blocking key, with the rest of their golden', () => {
    const index = new InMemoryCandidateIndex();
    index.add('r1', features({ family: 'green', birthDate: '1956-04-09' }), 'g1');
    index.add('r2', features({ family: 'grene', ssn: '42' }), 'g1');
    index.add('r3', features({ family: 'mason', birthDate: '1970-01-01' }), 'g2');

    const found = index.candidatesFor(features({ family: 'green', birthDate: '1956-04-09' }));
    expect(found.map((c) => [c.recordId, c.goldenId])).toEqual([
      ['r1', 'g1'],
      ['r2', 'g1'],
    ]);
    expect(index.candidatesFor(features({ family: 'pegg' }))).toEqual([]);
    expect(() => index.add('r1', features({}), 'g3')).toThrow(/r1/);
  });

  it('reads only the newest records of an over-full block', () => {
    const index = new InMemoryCandidateIndex({ maxRecordsPerKey: 2, includeGoldenMembers: false });
    for (const id of ['r1', 'r2', 'r3']) index.add(id, features({ ssn: '42' }), `g-${id}`);
    expect(index.candidatesFor(features({ ssn: '42' })).map((c) => c.recordId)).toEqual(['r2', 'r3']);
  });

  it('moves every member of merged goldens to the survivor', () => {
    const index = new InMemoryCandidateIndex();
    index.add('r1', features({ ssn: '1' }), 'g1');
    index.add('r2', features({ ssn: '2' }), 'g2');
    index.add('r3', features({ ssn: '3' }), 'g3');
    index.mergeGoldens('g1', ['g2', 'g3', 'g1']);
    expect(index.membersOfGolden('g1')).toEqual(['r1', 'r2', 'r3']);
    expect(index.membersOfGolden('g2')).toEqual([]);
    expect(index.goldenOf('r3')).toBe('g1');
    expect(index.candidatesFor(features({ ssn: '2' }))[0].goldenId).toBe('g1');
  });
});
