import { Module } from '@nestjs/common';
import { IngestResourceVersionsHandler } from './commands/ingest-resource-versions/ingest-resource-versions.handler';
import { ListRejectionsHandler } from './queries/list-rejections/list-rejections.handler';
import { FileIngestionService } from './sources/file/file-ingestion.service';

/** The Ingestion context. Needs CqrsModule and an EVENT_STORE provider from the host application. */
@Module({
  providers: [IngestResourceVersionsHandler, ListRejectionsHandler, FileIngestionService],
  exports: [FileIngestionService],
})
export class IngestionModule {}
