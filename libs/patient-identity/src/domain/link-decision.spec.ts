import { decideLink, ScoredGolden } from './link-decision';

const scored = (
  goldenId: string,
  result: ScoredGolden['result'],
  weight: number,
  otherMembers = 1,
): ScoredGolden => ({
  goldenId,
  result,
  otherMembers,
  explanation: { weight, probability: 1 / (1 + 2 ** -weight), comparisons: [] },
});
const none = new Set<string>();

describe('decideLink', () => {
  it('gives a patient that matches no one a golden patient of its own', () => {
    expect(decideLink({ manual: false, notMatching: none }, [])).toEqual({ kind: 'create-golden' });
    expect(decideLink({ manual: false, notMatching: none }, [scored('g1', 'NO_MATCH', -5)])).toEqual({
      kind: 'create-golden',
    });
  });

  it('links to the best MATCH, and provisionally to a POSSIBLE_MATCH', () => {
    const decision = decideLink({ manual: false, notMatching: none }, [
      scored('g1', 'POSSIBLE_MATCH', 2),
      scored('g2', 'MATCH', 12),
    ]);
    expect(decision).toMatchObject({ kind: 'link', goldenId: 'g2', possible: false });
    expect(
      decideLink({ manual: false, notMatching: none }, [scored('g1', 'POSSIBLE_MATCH', 2)]),
    ).toMatchObject({
      kind: 'link',
      goldenId: 'g1',
      possible: true,
    });
  });

  it('never moves a manual link, and never links where a reviewer said NO_MATCH', () => {
    expect(
      decideLink({ goldenId: 'g1', manual: true, notMatching: none }, [scored('g2', 'MATCH', 20)]),
    ).toEqual({
      kind: 'keep',
    });
    expect(decideLink({ manual: false, notMatching: new Set(['g2']) }, [scored('g2', 'MATCH', 20)])).toEqual({
      kind: 'create-golden',
    });
  });

  it('keeps a patient where it still matches, moves it when it now matches elsewhere only', () => {
    expect(
      decideLink({ goldenId: 'g1', manual: false, notMatching: none }, [
        scored('g1', 'MATCH', 10),
        scored('g2', 'MATCH', 15),
      ]),
    ).toEqual({ kind: 'keep' });
    expect(
      decideLink({ goldenId: 'g1', manual: false, notMatching: none }, [
        scored('g1', 'NO_MATCH', -3),
        scored('g2', 'MATCH', 15),
      ]),
    ).toMatchObject({ kind: 'link', goldenId: 'g2', unlinkFrom: 'g1' });
  });

  it('takes a patient out of a shared golden patient it no longer resembles; alone it stays', () => {
    expect(
      decideLink({ goldenId: 'g1', manual: false, notMatching: none }, [scored('g1', 'NO_MATCH', -8, 2)]),
    ).toEqual({ kind: 'create-golden', unlinkFrom: 'g1' });
    expect(decideLink({ goldenId: 'g1', manual: false, notMatching: none }, [])).toEqual({ kind: 'keep' });
  });
});
