import { matchFeaturesOf } from '@fa/patient-identity';
import { fakeNamesDataset, FEBRL_SSN_SYSTEM, febrlDataset, linkOnlySplit } from './record-linkage-datasets';
import { syntheticHouseholds } from './synthetic-households';

const FEBRL = `rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id
rec-552-org, harley, mccarthy, 177, pridham street, milton, marsden, 3165, nsw, 19080419, 6089216
rec-552-dup-0, harley, mccarthy, , pridham tstreet, , marsden, 3165, nsw, 19081304, 6089216
rec-9-org, , , , , , , , , , 
`;

const FAKE = `unique_id,first_name,surname,dob,city,email,cluster
0,Robert,Alan,1971-06-24,,robert255@smith.net,0
2,Rob,Allen,1971-06-24,London,,0
`;

describe('febrlDataset', () => {
  const { patients, truthClusterOf } = febrlDataset(FEBRL, 'f3-');

  it('maps every Febrl column onto the Patient', () => {
    expect(patients[0]).toEqual({
      resourceType: 'Patient',
      id: 'f3-rec-552-org',
      name: [{ family: 'mccarthy', given: ['harley'] }],
      birthDate: '1908-04-19',
      address: [
        { line: ['177 pridham street', 'milton'], city: 'marsden', postalCode: '3165', state: 'nsw' },
      ],
      identifier: [{ system: FEBRL_SSN_SYSTEM, value: '6089216' }],
    });
  });

  it('keeps an invalid birth date as source text the features still read', () => {
    expect(patients[1].birthDate).toBeUndefined();
    expect(matchFeaturesOf(patients[1]).birthDate).toEqual({ digits: '19081304', year: 1908 });
    expect(patients[1].address?.[0].line).toEqual(['pridham tstreet']);
  });

  it('leaves out what a record lacks and records the truth', () => {
    expect(patients[2]).toEqual({ resourceType: 'Patient', id: 'f3-rec-9-org' });
    expect([...truthClusterOf]).toEqual([
      ['f3-rec-552-org', '552'],
      ['f3-rec-552-dup-0', '552'],
      ['f3-rec-9-org', '9'],
    ]);
  });
});

describe('fakeNamesDataset', () => {
  it('maps names, birth date, city and e-mail, with the cluster as truth', () => {
    const { patients, truthClusterOf } = fakeNamesDataset(FAKE);
    expect(patients).toEqual([
      {
        resourceType: 'Patient',
        id: 'fake-0',
        name: [{ family: 'Alan', given: ['Robert'] }],
        birthDate: '1971-06-24',
        telecom: [{ system: 'email', value: 'robert255@smith.net' }],
      },
      {
        resourceType: 'Patient',
        id: 'fake-2',
        name: [{ family: 'Allen', given: ['Rob'] }],
        birthDate: '1971-06-24',
        address: [{ city: 'London' }],
      },
    ]);
    expect(truthClusterOf.get('fake-2')).toBe('0');
  });
});

describe('linkOnlySplit', () => {
  it('puts each true cluster across two sources, none holding a person twice, originals first', () => {
    const dataset = febrlDataset(
      `${FEBRL.split('\n')[0]}\nrec-1-dup-0, ann, lee, , , , , , , , \nrec-1-org, ann, lee, , , , , , , , \nrec-1-dup-1, anne, lee, , , , , , , , \nrec-2-org, bo, kim, , , , , , , , \n`,
    );
    const split = linkOnlySplit(dataset, ['a', 'b']);
    expect([...split.sourceOf]).toEqual([
      ['rec-1-org', 'a'],
      ['rec-2-org', 'a'],
      ['rec-1-dup-0', 'b'],
    ]);
    expect(split.truthClusterOf.get('rec-1-dup-0')).toBe('1');
  });
});

describe('syntheticHouseholds', () => {
  const dataset = syntheticHouseholds({ households: 200, seed: 3 });

  it('records each person at most once per source, most of them in both', () => {
    const seen = new Set<string>();
    for (const patient of dataset.patients) {
      const key = `${dataset.sourceOf.get(patient.id!)}|${dataset.truthClusterOf.get(patient.id!)}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
    const people = new Set(dataset.truthClusterOf.values()).size;
    expect(dataset.patients.length / people).toBeGreaterThan(1.7);
  });

  it('holds twins (one household, one birth date, two people) and repeats for one seed', () => {
    const byHouseholdAndBirth = new Map<string, Set<string>>();
    for (const patient of dataset.patients) {
      if (!patient.birthDate) continue;
      const household = dataset.truthClusterOf.get(patient.id!)!.split('-')[0];
      const key = `${household}|${patient.birthDate}`;
      byHouseholdAndBirth.set(
        key,
        new Set([...(byHouseholdAndBirth.get(key) ?? []), dataset.truthClusterOf.get(patient.id!)!]),
      );
    }
    expect([...byHouseholdAndBirth.values()].some((people) => people.size > 1)).toBe(true);
    expect(syntheticHouseholds({ households: 200, seed: 3 }).patients).toEqual(dataset.patients);
  });
});
