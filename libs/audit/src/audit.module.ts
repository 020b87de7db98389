import {
  DynamicModule,
  Inject,
  Injectable,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import type { Pool } from 'pg';
import { createLogger, PG_POOL } from '@fa/platform';
import { AnchorWriter } from './anchors/anchor-writer';
import type { AuditSettings } from './anchors/anchor-files';
import { AUDIT_SETTINGS } from './audit-tokens';
import { RecordAccessHandler } from './commands/record-access/record-access.handler';
import { SearchAuditEventsHandler } from './queries/search-audit-events/search-audit-events.handler';
import { VerifyAuditChainHandler } from './queries/verify-audit-chain/verify-audit-chain.handler';
import { AccessJournal } from './storage/access-journal';
import { migrateAudit } from './storage/audit-schema';

/**
 * Creates the audit tables at start; at shutdown (before the pool closes) returns the journal's connection and
 * writes the last anchor.
 */
@Injectable()
class AuditLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly anchors: AnchorWriter,
    private readonly journal: AccessJournal,
  ) {}

  onModuleInit(): Promise<void> {
    return migrateAudit(this.pool);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.journal.close();
    await this.anchors.close();
  }
}

/**
 * The access audit: records every access in a hash chain (group commit, durable before the response), serves
 * them as AuditEvents and verifies the chain against signed anchors. Needs CqrsModule and the pool from the host.
 */
@Module({})
export class AuditModule {
  static forRoot(settings: AuditSettings): DynamicModule {
    return {
      module: AuditModule,
      providers: [
        { provide: AUDIT_SETTINGS, useValue: settings },
        { provide: AnchorWriter, useFactory: () => new AnchorWriter(settings, createLogger('audit')) },
        {
          provide: AccessJournal,
          inject: [PG_POOL, AnchorWriter],
          useFactory: (pool: Pool, anchors: AnchorWriter) => new AccessJournal(pool, anchors),
        },
        AuditLifecycle,
        RecordAccessHandler,
        SearchAuditEventsHandler,
        VerifyAuditChainHandler,
      ],
      exports: [AccessJournal, AnchorWriter],
    };
  }
}
