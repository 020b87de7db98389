import { englishNicknames, NicknameTable } from './nicknames';

describe('NicknameTable', () => {
  it('links diminutives to their formal name and to each other', () => {
    expect(englishNicknames.areEquivalent('robert', 'bob')).toBe(true);
    expect(englishNicknames.areEquivalent('bill', 'will')).toBe(true);
    expect(englishNicknames.areEquivalent('robert', 'william')).toBe(false);
    expect(englishNicknames.areEquivalent('zebedee', 'zeb')).toBe(false);
  });

  it('accepts a deployment’s own groups, a name belonging to several', () => {
    const table = new NicknameTable([
      ['alexander', 'alex'],
      ['alexandra', 'alex'],
    ]);
    expect(table.areEquivalent('alexander', 'alex')).toBe(true);
    expect(table.areEquivalent('alexandra', 'alex')).toBe(true);
    expect(table.areEquivalent('alexander', 'alexandra')).toBe(false);
  });
});
