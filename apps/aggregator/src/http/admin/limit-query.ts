import { BadRequestException } from '@nestjs/common';
import { plainToInstance, Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min, validateOrReject } from 'class-validator';

class LimitQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit = 100;
}

/** `?limit=` of the admin listings: 1-1000, default 100; anything else is a 400 naming the rule broken. */
export async function limitOf(query: Record<string, unknown>): Promise<number> {
  const params = plainToInstance(LimitQuery, query);
  await validateOrReject(params).catch((errors: { toString(): string }[]) => {
    throw new BadRequestException(errors.map((e) => e.toString()).join('; '));
  });
  return params.limit;
}
