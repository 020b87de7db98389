import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '@fa/platform';
import { databaseReady } from './health-server';
import { Access } from '../security/access-policy';

@Controller()
export class HealthController {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Liveness: the process answers. */
  @Get('health')
  @Access({ public: 'liveness probe: no data' })
  health(): { status: string } {
    return { status: 'ok' };
  }

  /** Readiness: the database answers. */
  @Get('ready')
  @Access({ public: 'readiness probe: no data' })
  async ready(): Promise<{ status: string }> {
    if (await databaseReady(this.pool)) return { status: 'ready' };
    throw new ServiceUnavailableException('database unreachable');
  }
}
