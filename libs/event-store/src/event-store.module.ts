import { DynamicModule, Global, Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '@fa/platform';
import { EVENT_STORE, EventStore } from './event-store.port';
import { ProjectionRunner } from './projections/projection-runner';

/** Shares the process's pool, event store and projection runner with every context module. */
@Global()
@Module({})
export class EventStoreModule {
  static forRoot(pool: Pool, store: EventStore, runner: ProjectionRunner): DynamicModule {
    return {
      module: EventStoreModule,
      providers: [
        { provide: PG_POOL, useValue: pool },
        { provide: EVENT_STORE, useValue: store },
        { provide: ProjectionRunner, useValue: runner },
      ],
      exports: [PG_POOL, EVENT_STORE, ProjectionRunner],
    };
  }
}
