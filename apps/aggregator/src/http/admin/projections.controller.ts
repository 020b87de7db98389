import { ConflictException, Controller, Get, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiAcceptedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  NotRebuildableError,
  ProjectionRunner,
  RebuildAlreadyRunningError,
  UnknownProjectionError,
} from '@fa/event-store';
import { FHIR_STORE_PROJECTION, StoreDigestQuery } from '@fa/fhir-store';
import { createLogger } from '@fa/platform';
import { Access } from '../security/access-policy';

const log = createLogger('admin');

@ApiTags('admin')
@Controller('admin/projections')
export class ProjectionsController {
  constructor(
    private readonly runner: ProjectionRunner,
    private readonly queryBus: QueryBus,
  ) {}

  @Get()
  @Access({ scope: 'system/fhir-aggregator.admin', interaction: 'administration' })
  @ApiOperation({
    summary: 'Each projection: version, active generation, checkpoint, lag and rebuild progress',
  })
  status() {
    return this.runner.status();
  }

  @Post(':name/$rebuild')
  @Access({ scope: 'system/fhir-aggregator.admin', interaction: 'operation:rebuild' })
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Rebuild a read model into new tables from the event store, then swap atomically (process managers are refused: 409)',
  })
  @ApiAcceptedResponse({ description: 'Started; follow progress at GET /admin/projections' })
  async rebuild(@Param('name') name: string) {
    try {
      this.runner.projection(name);
    } catch (error) {
      if (error instanceof UnknownProjectionError) throw new NotFoundException(error.message);
      throw error;
    }
    const running = this.runner.rebuild(name);
    // Answer once the rebuild is under way (or refused because one is already running), not when it ends.
    const refused = running.then(
      () => undefined,
      (error: unknown) => error,
    );
    const startedInTime = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 300));
    const error = await Promise.race([refused, startedInTime]);
    if (error instanceof RebuildAlreadyRunningError || error instanceof NotRebuildableError)
      throw new ConflictException(error.message);
    refused.then((failure) => {
      if (
        failure &&
        !(failure instanceof RebuildAlreadyRunningError || failure instanceof NotRebuildableError)
      ) {
        log.error(
          { projection: name, err: failure instanceof Error ? failure.name : 'unknown' },
          'rebuild failed',
        );
      }
    });
    if (error) throw error;
    return { projection: name, state: 'running', progress: '/admin/projections' };
  }

  @Get(`${FHIR_STORE_PROJECTION}/digest`)
  @Access({ scope: 'system/fhir-aggregator.admin', interaction: 'administration' })
  @ApiOperation({ summary: 'Row count, content digest and versions per type of the fhir-store read model' })
  digest() {
    return this.queryBus.execute(new StoreDigestQuery());
  }
}
