import { DynamicModule, Module } from '@nestjs/common';
import { ContextsModule } from '@fa/composition';
import type { EventStoreRuntime } from '@fa/event-store';

/** The CLI's application context: the same contexts as the service, without HTTP. */
@Module({})
export class CliModule {
  static forRoot(runtime: EventStoreRuntime): DynamicModule {
    // The CLI's own reads are administrative: no query time budget (ContextsModule's default).
    return { module: CliModule, imports: [ContextsModule.forRoot(runtime)] };
  }
}
