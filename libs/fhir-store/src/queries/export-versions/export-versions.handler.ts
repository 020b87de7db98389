import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { ExportVersionsReader } from './export-versions.reader';
import { ExportRow, ExportTypes, ExportTypesQuery, ExportVersionsQuery } from './export-versions.query';

@QueryHandler(ExportVersionsQuery)
export class ExportVersionsHandler implements IQueryHandler<ExportVersionsQuery, ExportRow[]> {
  constructor(private readonly reader: ExportVersionsReader) {}

  execute(query: ExportVersionsQuery): Promise<ExportRow[]> {
    return this.reader.page(query.criteria);
  }
}

@QueryHandler(ExportTypesQuery)
export class ExportTypesHandler implements IQueryHandler<ExportTypesQuery, ExportTypes> {
  constructor(private readonly reader: ExportVersionsReader) {}

  execute(query: ExportTypesQuery): Promise<ExportTypes> {
    return this.reader.types(query.asOf);
  }
}
