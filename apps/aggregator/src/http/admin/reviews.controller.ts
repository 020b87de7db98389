import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { plainToInstance, Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min, validateOrReject } from 'class-validator';
import { ReviewQueueQuery } from '@fa/patient-identity';

class ReviewQueueParams {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit = 100;
}

@ApiTags('identity')
@Controller('admin/identity')
export class ReviewsController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get('reviews')
  @ApiOperation({
    summary:
      'Possible matches waiting for a reviewer, oldest first, with the score explanation; resolve with POST /fhir/$mdm-update-link',
  })
  @ApiQuery({ name: 'limit', required: false, description: '1-1000, default 100' })
  async list(@Query() query: Record<string, unknown>) {
    const params = plainToInstance(ReviewQueueParams, query);
    await validateOrReject(params).catch((errors: { toString(): string }[]) => {
      throw new BadRequestException(errors.map((e) => e.toString()).join('; '));
    });
    return { reviews: await this.queryBus.execute(new ReviewQueueQuery(params.limit)) };
  }
}
