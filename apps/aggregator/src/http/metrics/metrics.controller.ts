import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Gauge, register } from 'prom-client';
import { ProjectionRunner } from '@fa/event-store';
import { Access } from '../security/access-policy';

@ApiTags('health')
@Controller('metrics')
export class MetricsController {
  constructor(runner: ProjectionRunner) {
    if (!register.getSingleMetric('fhir_projection_lag_events')) {
      new Gauge({
        name: 'fhir_projection_lag_events',
        help: 'Events in the log not yet applied to the projection',
        labelNames: ['projection'] as const,
        async collect() {
          // Metrics must answer while the database is down (that is when they matter): keep the last value.
          const statuses = await runner.status().catch(() => []);
          for (const status of statuses) this.set({ projection: status.name }, status.lag ?? 0);
        },
      });
    }
  }

  @Get()
  @Access({ public: 'Prometheus scrape: counters and timings by route pattern, no data' })
  @Header('Content-Type', register.contentType)
  @ApiOperation({
    summary: 'Prometheus metrics: ingestion records/rejects/retries, consumer lag, projection lag',
  })
  metrics(): Promise<string> {
    return register.metrics();
  }
}
