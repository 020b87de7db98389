import { parseRoles, readConfig } from './config';

describe('ROLES', () => {
  it('defaults to every role', () => {
    expect([...readConfig({}).roles].sort()).toEqual(['api', 'kafka', 'projections']);
  });

  it('takes a comma-separated subset, spaces allowed', () => {
    expect([...parseRoles(' kafka , projections ')].sort()).toEqual(['kafka', 'projections']);
  });

  it('names the unknown role, and refuses none at all', () => {
    expect(() => parseRoles('api,workers')).toThrow('ROLES: "workers" is not one of api, projections, kafka');
    expect(() => parseRoles(' , ')).toThrow('ROLES: name at least one of api, projections, kafka');
  });
});
