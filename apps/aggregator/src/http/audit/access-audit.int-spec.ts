import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Body,
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Global,
  HttpStatus,
  INestApplication,
  Injectable,
  Module,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import { APP_GUARD, NestFactory, Reflector } from '@nestjs/core';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import type { Request, Response } from 'express';
import request from 'supertest';
import { AccessRecord, AuditModule, RecordAccessCommand } from '@fa/audit';
import { createLogger, PG_POOL } from '@fa/platform';
import { createTestDatabase, TestDatabase } from '@fa/testkit';
import { FhirError } from '../fhir-error';
import { FhirExceptionFilter } from '../fhir-exception.filter';
import { sendFhir } from '../fhir-json';
import { Access, ACCESS_POLICY, AccessPolicy, Principal } from '../security/access-policy';
import { accessAudit } from './access-audit.middleware';

/**
 * The audit against the contract with the coming guard and token endpoint (access-policy.ts), with stand-ins
 * written to that contract only: a guard that sets request.principal or throws a FhirError 401/403/429 before
 * the handler, and a public token route that sets request.principal on a grant. The audit has no case for
 * either: what it records follows from the policy, the principal and the status.
 */
const PRINCIPALS: Record<string, Principal> = {
  good: { clientId: 'client-a', scopes: ['system/Patient.rs'] },
};

@Injectable()
class StandInGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}
  canActivate(context: ExecutionContext): boolean {
    const policy = this.reflector.get<AccessPolicy>(ACCESS_POLICY, context.getHandler());
    if ('public' in policy) return true;
    const req = context.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const token = /^Bearer (\w+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw new FhirError(HttpStatus.UNAUTHORIZED, 'login', 'No bearer token');
    if (token === 'limited') throw new FhirError(HttpStatus.FORBIDDEN, 'forbidden', 'Scope lacks Patient');
    if (token === 'flood') throw new FhirError(HttpStatus.TOO_MANY_REQUESTS, 'throttled', 'Over the limit');
    req.principal = PRINCIPALS[token];
    return true;
  }
}

@Controller()
class StandInController {
  @Post('auth/token')
  @Access({ public: 'the token endpoint: a client authenticates here' })
  token(
    @Body() body: Record<string, string>,
    @Req() req: Request & { principal?: Principal },
    @Res({ passthrough: true }) res: Response,
  ) {
    if (body.client_assertion !== 'signed') {
      res.status(400);
      return { error: 'invalid_grant', error_description: 'the assertion is not signed' };
    }
    req.principal = PRINCIPALS.good;
    return { access_token: 'opaque', token_type: 'bearer', expires_in: 300, scope: 'system/Patient.rs' };
  }

  /** 3 MB of NDJSON in rows of about 10 kB, written with backpressure as $viewdefinition-run writes. */
  @Get('fhir/Observation/stream')
  @Access({ resource: 'Observation', permission: 's', interaction: 'search' })
  async stream(@Res() res: Response) {
    res.status(200).type('application/fhir+ndjson');
    const pad = 'x'.repeat(10_000);
    for (let i = 0; i < 300; i++) {
      const row = JSON.stringify({
        resourceType: 'Observation',
        subject: { reference: `Patient/p${i}` },
        pad,
      });
      if (!res.write(row + '\n')) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  }

  @Get('fhir/Patient/:id')
  @Access({ resource: 'Patient', permission: 'r', interaction: 'read' })
  read(@Req() req: Request, @Res() res: Response) {
    sendFhir(res, { resourceType: 'Patient', id: req.params.id, name: [{ family: 'Secret' }] });
  }
}

@Global()
@Module({})
class PoolModule {
  static with(database: TestDatabase) {
    return {
      module: PoolModule,
      providers: [{ provide: PG_POOL, useValue: database.pool }],
      exports: [PG_POOL],
    };
  }
}

describe('access audit against the access-policy contract (guard, principal, public token route)', () => {
  let database: TestDatabase;
  let app: INestApplication;
  let dir: string;
  const recordOf = async (id: string) =>
    (
      await database.pool.query<{ record: AccessRecord }>(
        `SELECT record FROM audit.records WHERE record->>'requestId' = $1`,
        [id],
      )
    ).rows[0]?.record;

  beforeAll(async () => {
    database = await createTestDatabase(4);
    dir = mkdtempSync(path.join(os.tmpdir(), 'fa-audit-spec-'));
    @Module({
      imports: [
        CqrsModule.forRoot(),
        PoolModule.with(database),
        AuditModule.forRoot({
          anchorDir: path.join(dir, 'anchors'),
          keyFile: path.join(dir, 'key.pem'),
          anchorIntervalMs: 60_000,
        }),
      ],
      controllers: [StandInController],
      providers: [{ provide: APP_GUARD, useClass: StandInGuard }],
    })
    class StandInApp {}
    app = await NestFactory.create(StandInApp, { logger: false });
    app.useGlobalFilters(new FhirExceptionFilter());
    app.use((req: Request, res: Response, next: () => void) => {
      res.setHeader('x-request-id', String(req.headers['x-request-id']));
      next();
    });
    const commands = app.get(CommandBus);
    app.use(
      accessAudit((record) => commands.execute(new RecordAccessCommand(record)), createLogger('audit')),
    );
    await app.init();
  });
  afterAll(async () => {
    await app.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const http = () => request(app.getHttpServer());

  it('records the principal the guard set: client and granted scopes', async () => {
    await http()
      .get('/fhir/Patient/p1')
      .set('x-request-id', 'granted')
      .set('Authorization', 'Bearer good')
      .expect(200);
    expect(await recordOf('granted')).toMatchObject({
      client: 'client-a',
      scopes: ['system/Patient.rs'],
      interaction: 'read',
      patients: ['Patient/p1'],
      status: 200,
    });
  });

  it("records the guard's refusals (401, 403, 429), thrown before the handler, with the route's interaction", async () => {
    for (const [id, authorization, status] of [
      ['no-token', undefined, 401],
      ['no-scope', 'Bearer limited', 403],
      ['throttled', 'Bearer flood', 429],
    ] as const) {
      const call = http().get('/fhir/Patient/p1').set('x-request-id', id);
      await (authorization ? call.set('Authorization', authorization) : call).expect(status);
      expect(await recordOf(id)).toMatchObject({ client: null, interaction: 'read', patients: [], status });
    }
  });

  it('records token grants and refusals on the public token route, with no special case', async () => {
    await http()
      .post('/auth/token')
      .type('form')
      .send({ client_assertion: 'signed' })
      .set('x-request-id', 'grant')
      .expect(201);
    expect(await recordOf('grant')).toMatchObject({
      client: 'client-a',
      interaction: 'public',
      route: '/auth/token',
      query: '/auth/token',
      status: 201,
    });
    // A refusal: the route answers 400 itself (RFC 6749 JSON); the assertion never reaches the record.
    await http()
      .post('/auth/token')
      .type('form')
      .send({ client_assertion: 'forged' })
      .set('x-request-id', 'refused')
      .expect(400);
    const refused = await recordOf('refused');
    expect(refused).toMatchObject({ client: null, interaction: 'public', status: 400 });
    expect(JSON.stringify(refused)).not.toContain('forged');
  });

  it('records a streamed answer in parts, each before its bytes leave, naming the patients in each', async () => {
    const response = await http()
      .get('/fhir/Observation/stream')
      .set('x-request-id', 'streamed')
      .set('Authorization', 'Bearer good')
      .expect(200);
    const lines = response.text.trim().split('\n');
    expect(lines).toHaveLength(300);
    const { rows } = await database.pool.query<{ record: AccessRecord }>(
      `SELECT record FROM audit.records WHERE record->>'requestId' = 'streamed' ORDER BY seq`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.map((r) => r.record.part)).toEqual(rows.map((_, i) => i + 1));
    const named = rows.flatMap((r) => r.record.patients);
    expect(new Set(named).size).toBe(300);
    expect(named).toHaveLength(300);
  });

  it('withholds the answer (503, nothing of the body) when its record cannot be written', async () => {
    await database.pool.query('ALTER TABLE audit.records RENAME TO records_away');
    try {
      const response = await http()
        .get('/fhir/Patient/p2')
        .set('x-request-id', 'withheld')
        .set('Authorization', 'Bearer good')
        .expect(503);
      expect(response.text).not.toContain('Secret');
      expect(response.body.issue[0].code).toBe('transient');
    } finally {
      await database.pool.query('ALTER TABLE audit.records_away RENAME TO records');
    }
    expect(await recordOf('withheld')).toBeUndefined();
  });
});
