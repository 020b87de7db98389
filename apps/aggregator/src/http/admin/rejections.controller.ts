import { BadRequestException, Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ListRejectionsQuery, SOURCE_NAME_PATTERN } from '@fa/ingestion';
import { limitOf } from './limit-query';
import { Access } from '../security/access-policy';

@ApiTags('admin')
@Controller('admin/rejections')
export class RejectionsController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get(':source')
  @Access({ scope: 'system/fhir-aggregator.admin', interaction: 'administration' })
  @ApiOperation({
    summary:
      'Newest rejected records of a source: reason code, reason, origin (file line or Kafka offset), excerpt',
  })
  @ApiQuery({ name: 'limit', required: false, description: '1-1000, default 100' })
  async list(@Param('source') source: string, @Query() query: Record<string, unknown>) {
    if (!SOURCE_NAME_PATTERN.test(source))
      throw new BadRequestException(`${JSON.stringify(source.slice(0, 64))} is not a source name`);
    const limit = await limitOf(query);
    return { source, rejections: await this.queryBus.execute(new ListRejectionsQuery(source, limit)) };
  }
}
