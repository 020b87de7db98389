import { Body, Controller, Headers, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Parameters, ParametersParameter } from 'fhir/r4';
import {
  compileView,
  CompiledView,
  rowEncoder,
  RunViewQuery,
  VIEW_FORMATS,
  ViewDefinitionError,
  ViewEvaluationError,
  viewFormat,
  type ViewRow,
} from '@fa/analytics';
import { FHIR_ID_PATTERN } from '@fa/fhir';
import { createLogger } from '@fa/platform';
import { FhirError } from '../../fhir-error';
import { operationInput, QueryParams } from '../fhir-params';
import { FhirOperation } from './fhir-operation.decorator';
import { VIEW_DEFINITION_RUN } from './view-definition-run.operation';
import { Access } from '../../security/access-policy';

const log = createLogger('view-definition-run');

/** POST /fhir/ViewDefinition/$viewdefinition-run: a ViewDefinition's rows, streamed, now or as of an instant. */
@ApiExcludeController()
@Controller('fhir')
export class ViewDefinitionRunController {
  constructor(private readonly queryBus: QueryBus) {}

  @FhirOperation(VIEW_DEFINITION_RUN)
  @Access({ scope: 'system/fhir-aggregator.analytics', interaction: 'operation:viewdefinition-run' })
  async run(
    @Body() body: unknown,
    @Query() params: QueryParams,
    @Headers('prefer') prefer: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    const { values } = operationInput(VIEW_DEFINITION_RUN, withQueryParameters(body, params), prefer);
    const format = viewFormat((values._format as string | undefined) ?? 'json');
    if (!format) {
      throw FhirError.badRequest(`_format must be one of ${Object.keys(VIEW_FORMATS).join(', ')}`, '_format');
    }
    const view = compiled(values.viewResource);
    const patientId = patientParam(values.patient as string | undefined);
    const asOf = (values._asOf as { end: Date } | undefined)?.end ?? new Date();
    const limit = values._limit as number | undefined;
    const result = await this.queryBus.execute(new RunViewQuery(view, { asOf, patientId, limit }));
    if (result.status === 'patient-not-found') {
      throw FhirError.notFound(`Patient/${result.patientId} is not known at ${asOf.toISOString()}`);
    }
    const rows = result.rows[Symbol.asyncIterator]();
    // The first row is computed before the status is sent, so a view that fails on the data is still a 400.
    let next = await evaluationStep(rows);
    const encoder = rowEncoder(format, view.columns, values.header !== false);
    response.status(200).type(`${VIEW_FORMATS[format]}; charset=utf-8`);
    await write(response, encoder.start());
    let index = 0;
    try {
      while (!next.done && !response.destroyed) {
        await write(response, encoder.row(next.value, index++));
        next = await rows.next();
      }
      if (!next.done) await rows.return?.(undefined);
      response.end(encoder.end());
    } catch (error) {
      // Headers are gone: all that can be said is that the answer is cut short. No resource content is logged.
      log.warn(
        {
          rows: index,
          err: error instanceof Error ? error.name : 'unknown',
          element: (error as ViewEvaluationError).element,
        },
        'view run failed after streaming began',
      );
      response.destroy();
    }
  }
}

/** A Parameters body with the query string's parameters added (`?_format=csv` beside the body). */
function withQueryParameters(body: unknown, params: QueryParams): Parameters {
  const parameters = body as Parameters | undefined;
  if (!parameters || parameters.resourceType !== 'Parameters' || !Array.isArray(parameters.parameter)) {
    throw FhirError.badRequest('The body must be a FHIR Parameters resource with a viewResource', 'body');
  }
  const fromQuery: ParametersParameter[] = Object.entries(params).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : value === undefined ? [] : [value]).map((v) => ({
      name,
      valueString: v,
    })),
  );
  return { ...parameters, parameter: [...parameters.parameter, ...fromQuery] };
}

function compiled(definition: unknown): CompiledView {
  try {
    return compileView(definition);
  } catch (error) {
    if (error instanceof ViewDefinitionError) {
      throw FhirError.badRequest(
        `Invalid ViewDefinition: ${error.message}`,
        `ViewDefinition.${error.element}`,
      );
    }
    throw error;
  }
}

/** Patient/<id> or <id>. */
function patientParam(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const id = value.replace(/^Patient\//, '');
  if (!FHIR_ID_PATTERN.test(id)) throw FhirError.badRequest('patient must be Patient/<id>', 'patient');
  return id;
}

async function evaluationStep(rows: AsyncIterator<ViewRow>): Promise<IteratorResult<ViewRow>> {
  try {
    return await rows.next();
  } catch (error) {
    if (error instanceof ViewEvaluationError) {
      throw FhirError.badRequest(
        `The view cannot be evaluated: ${error.message}`,
        `ViewDefinition.${error.element}`,
      );
    }
    throw error;
  }
}

function write(response: Response, chunk: string): Promise<void> {
  if (chunk === '' || response.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
