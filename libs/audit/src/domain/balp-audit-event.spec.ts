import type { AccessRecord } from '../events/access-recorded.event';
import { chainAfter, GENESIS_HASH } from './audit-chain';
import { toBalpAuditEvent } from './balp-audit-event';

const base: AccessRecord = {
  recorded: '2026-12-01T10:00:00.000Z',
  requestId: 'r1',
  client: 'client-a',
  scopes: ['system/Patient.rs', 'system/Observation.rs'],
  address: '10.0.0.7',
  method: 'GET',
  route: '/fhir/:type',
  interaction: 'search',
  query: '/fhir/Observation?subject=Patient/p1&code=1234',
  patients: ['Patient/p1', 'Patient/p2'],
  status: 200,
};
const event = (record: AccessRecord) =>
  toBalpAuditEvent(chainAfter({ seq: 0, hash: GENESIS_HASH }, [record]).rows[0]);

describe('toBalpAuditEvent', () => {
  it('writes a search as BALP does: rest/search-type, the client with scopes and address, one entity per patient, the query in base64', () => {
    const audit = event(base);
    expect(audit).toMatchObject({
      id: '1',
      type: { code: 'rest' },
      subtype: [{ code: 'search-type' }, { code: 'search' }],
      action: 'R',
      outcome: '0',
      recorded: base.recorded,
    });
    expect(audit.agent[0]).toMatchObject({
      requestor: true,
      who: { identifier: { value: 'client-a' } },
      policy: base.scopes,
      network: { address: '10.0.0.7', type: '2' },
    });
    const [query, ...patients] = audit.entity!;
    expect(Buffer.from(query.query!, 'base64').toString()).toBe(base.query);
    expect(patients.map((p) => [p.what!.reference, p.role!.code])).toEqual([
      ['Patient/p1', '1'],
      ['Patient/p2', '1'],
    ]);
  });

  it('writes a refusal as a minor failure, a server error as serious, and a public answer as a login', () => {
    expect(event({ ...base, status: 403, client: null, scopes: [] })).toMatchObject({
      outcome: '4',
      agent: [{ who: { display: 'anonymous' } }, {}],
    });
    expect(event({ ...base, status: 500 }).outcome).toBe('8');
    expect(event({ ...base, interaction: 'public', route: '/auth/token', method: 'POST' })).toMatchObject({
      type: { code: '110114', display: 'User Authentication' },
      subtype: [{ code: '110122' }, { code: 'public' }],
      action: 'E',
    });
    expect(event({ ...base, interaction: 'operation:everything' }).subtype![0].code).toBe('operation');
  });
});
