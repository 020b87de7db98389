import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ASSERTION_ALGORITHMS, OWN_SCOPES } from '@fa/access';
import { Access } from './access-policy';
import { serverOrigin } from '../fhir-json';

/** SMART App Launch 2.x discovery for backend services: where and how to obtain a token, which scopes exist. */
@ApiExcludeController()
@Controller('fhir/.well-known')
export class SmartConfigurationController {
  @Get('smart-configuration')
  @Access({ public: 'SMART discovery: how to obtain a token' })
  configuration(@Req() request: Request, @Res() response: Response): void {
    const origin = serverOrigin(request);
    response.json({
      token_endpoint: `${origin}/auth/token`,
      jwks_uri: `${origin}/auth/jwks`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
      scopes_supported: ['system/*.rs', 'system/*.read', ...OWN_SCOPES],
      capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
    });
  }
}
