import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Get,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
} from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { IsObject, IsOptional, IsString, IsUrl, Length, validateOrReject } from 'class-validator';
import type { Request } from 'express';
import {
  ChangeClientRegistryCommand,
  ClientRegistryChange,
  ClientRegistryRejected,
  ListClientsQuery,
  RegisteredClient,
  ScopeError,
} from '@fa/access';
import { asOfParam, QueryParams } from '../fhir/fhir-params';
import { Access, type Principal } from '../security/access-policy';

class KeysBody {
  @IsObject()
  jwks!: Record<string, unknown>;

  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['https', 'http'] })
  jwksUrl?: string;
}

class RegisterBody extends KeysBody {
  @IsString()
  @Length(1, 128)
  clientId!: string;

  @IsString()
  @Length(1, 4096)
  scope!: string;
}

class RevokeBody {
  @IsOptional()
  @IsString()
  @Length(1, 512)
  reason?: string;
}

async function dto<T extends object>(type: new () => T, body: unknown): Promise<T> {
  const value = plainToInstance(type, body ?? {});
  await validateOrReject(value, { whitelist: true, forbidNonWhitelisted: true }).catch(
    (errors: { toString(): string }[]) => {
      throw new BadRequestException(errors.map((e) => e.toString().trim()).join('; '));
    },
  );
  return value;
}

/** The client registry over HTTP, as `cli clients` does it; each change is an event naming who made it. */
@ApiTags('admin')
@Controller('admin/clients')
export class ClientsController {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly queryBus: QueryBus,
  ) {}

  @Get()
  @Access({ scope: 'system/fhir-aggregator.admin', interaction: 'administration' })
  @ApiOperation({
    summary: 'Registered clients (revoked ones too) with their scopes and keys, now or as of _asOf',
  })
  @ApiQuery({ name: '_asOf', required: false, description: 'The registry as it was at this instant' })
  async list(@Query() params: QueryParams) {
    return { clients: await this.queryBus.execute(new ListClientsQuery(asOfParam(params))) };
  }

  @Post()
  @Access({ scope: 'system/fhir-aggregator.admin', interaction: 'administration' })
  @ApiOperation({ summary: 'Register a client: { clientId, scope, jwks, jwksUrl? }' })
  async register(@Body() body: unknown, @Req() request: Request) {
    const { clientId, scope, jwks, jwksUrl } = await dto(RegisterBody, body);
    return this.change({ kind: 'register', clientId, scope, jwks, jwksUrl, by: byOf(request) });
  }

  @Post(':clientId/$rotate-keys')
  @Access({ scope: 'system/fhir-aggregator.admin', interaction: 'administration' })
  @ApiOperation({ summary: "Replace a client's keys: { jwks, jwksUrl? }" })
  async rotateKeys(@Param('clientId') clientId: string, @Body() body: unknown, @Req() request: Request) {
    const { jwks, jwksUrl } = await dto(KeysBody, body);
    return this.change({ kind: 'rotate-keys', clientId, jwks, jwksUrl, by: byOf(request) });
  }

  @Post(':clientId/$revoke')
  @Access({ scope: 'system/fhir-aggregator.admin', interaction: 'administration' })
  @ApiOperation({
    summary: 'Revoke a client: no new tokens, and its current tokens stop working within a second',
  })
  async revoke(@Param('clientId') clientId: string, @Body() body: unknown, @Req() request: Request) {
    const { reason } = await dto(RevokeBody, body);
    return this.change({ kind: 'revoke', clientId, reason, by: byOf(request) });
  }

  private async change(change: ClientRegistryChange): Promise<RegisteredClient> {
    try {
      return await this.commandBus.execute(new ChangeClientRegistryCommand(change));
    } catch (error) {
      if (error instanceof ScopeError) throw new BadRequestException(error.message);
      if (error instanceof ClientRegistryRejected) {
        if (error.reason === 'unknown-client') throw new NotFoundException(error.message);
        if (error.reason === 'invalid') throw new BadRequestException(error.message);
        throw new ConflictException(error.message);
      }
      throw error;
    }
  }
}

function byOf(request: Request): string {
  return `client:${(request as Request & { principal?: Principal }).principal?.clientId ?? 'unknown'}`;
}
