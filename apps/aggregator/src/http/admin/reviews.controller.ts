import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ReviewQueueQuery } from '@fa/patient-identity';
import { limitOf } from './limit-query';
import { Access } from '../security/access-policy';

@ApiTags('identity')
@Controller('admin/identity')
export class ReviewsController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get('reviews')
  @Access({ scope: 'system/fhir-aggregator.review', interaction: 'operation:review-queue' })
  @ApiOperation({
    summary:
      'Possible matches waiting for a reviewer, oldest first, with the score explanation; resolve with POST /fhir/$mdm-update-link',
  })
  @ApiQuery({ name: 'limit', required: false, description: '1-1000, default 100' })
  async list(@Query() query: Record<string, unknown>) {
    const limit = await limitOf(query);
    return { reviews: await this.queryBus.execute(new ReviewQueueQuery(limit)) };
  }
}
