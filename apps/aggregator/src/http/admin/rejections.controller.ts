import { BadRequestException, Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min, validateOrReject } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { ListRejectionsQuery, SOURCE_NAME_PATTERN } from '@fa/ingestion';

class RejectionsParams {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit = 100;
}

@ApiTags('admin')
@Controller('admin/rejections')
export class RejectionsController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get(':source')
  @ApiOperation({
    summary:
      'Newest rejected records of a source: reason code, reason, origin (file line or Kafka offset), excerpt',
  })
  @ApiQuery({ name: 'limit', required: false, description: '1-1000, default 100' })
  async list(@Param('source') source: string, @Query() query: Record<string, unknown>) {
    if (!SOURCE_NAME_PATTERN.test(source))
      throw new BadRequestException(`${JSON.stringify(source.slice(0, 64))} is not a source name`);
    const params = plainToInstance(RejectionsParams, query);
    await validateOrReject(params).catch((errors: { toString(): string }[]) => {
      throw new BadRequestException(errors.map((e) => e.toString()).join('; '));
    });
    return { source, rejections: await this.queryBus.execute(new ListRejectionsQuery(source, params.limit)) };
  }
}
