import { Controller, Get, NotFoundException, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { lineageJsonOf, ResourceLineageQuery } from '@fa/fhir-store';
import { asOfParam, idParam, QueryParams, resourceTypeParam } from '../fhir/fhir-params';
import { Access } from '../security/access-policy';

@ApiTags('lineage')
@Controller('lineage')
export class LineageController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get(':type/:id')
  @Access({ resource: ':type', permission: 'r', interaction: 'lineage' })
  @ApiOperation({
    summary: 'Every recorded version of a resource with its source, origin, hash and transformations',
  })
  @ApiQuery({ name: '_asOf', required: false, description: 'Only versions recorded by this instant' })
  @ApiOkResponse({ description: 'Versions oldest first' })
  async lineage(@Param('type') type: string, @Param('id') id: string, @Query() params: QueryParams) {
    const versions = await this.queryBus.execute(
      new ResourceLineageQuery(resourceTypeParam(type), idParam(id), asOfParam(params)),
    );
    if (versions.length === 0) throw new NotFoundException(`${type}/${id} has no recorded versions`);
    return { resource: `${type}/${id}`, versions: versions.map(lineageJsonOf) };
  }
}
