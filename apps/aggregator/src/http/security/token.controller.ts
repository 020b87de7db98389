import { Body, Controller, Get, Headers, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { decodeJwt } from 'jose';
import { GrantAccessTokenCommand, SigningKeyring, TokenRequestError } from '@fa/access';
import { serverOrigin } from '../fhir-json';
import { Access, type Principal } from './access-policy';

/**
 * SMART Backend Services' token endpoint (client_credentials with a private_key_jwt assertion) and the public
 * keys our access tokens are signed with. Errors are RFC 6749 §5.2 JSON, never an OperationOutcome.
 */
@ApiExcludeController()
@Controller('auth')
export class TokenController {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly keyring: SigningKeyring,
  ) {}

  @Post('token')
  @Access({ public: 'the token endpoint: the client authenticates with its signed assertion' })
  async token(
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('Pragma', 'no-cache');
    try {
      if (!contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded'))
        throw new TokenRequestError('invalid_request', 'the body must be application/x-www-form-urlencoded');
      const origin = serverOrigin(request);
      const granted = await this.commandBus.execute(
        new GrantAccessTokenCommand(
          (body ?? {}) as Record<string, unknown>,
          `${origin}/auth/token`,
          `${origin}/fhir`,
        ),
      );
      // The grant's caller, for the access audit: the assertion's issuer, verified by the grant just made.
      const clientId = decodeJwt(String((body as Record<string, unknown>).client_assertion)).iss!;
      (request as Request & { principal?: Principal }).principal = {
        clientId,
        scopes: granted.scope.split(' '),
      };
      response.status(200).json(granted);
    } catch (error) {
      if (!(error instanceof TokenRequestError)) throw error;
      response.status(error.status).json({ error: error.error, error_description: error.description });
    }
  }

  @Get('jwks')
  @Access({ public: 'the public keys access tokens are signed with' })
  jwks() {
    return this.keyring.publicJwks();
  }
}
