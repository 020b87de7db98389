import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { v5 as uuidv5 } from 'uuid';
import { EVENT_STORE, type EventStore } from '@fa/event-store';
import { canonicalJson, sha256Hex } from '@fa/fhir';
import { compileView } from '../../domain/compile-view';
import { materializedViewName } from '../../domain/materialized-view';
import {
  VIEW_DEFINITION_REGISTERED,
  VIEW_DEFINITION_STREAM_PREFIX,
  ViewDefinitionRegisteredData,
} from '../../events/view-definition-registered.event';
import { RegisterViewCommand, RegisterViewResult } from './register-view.command';

const EVENT_NAMESPACE = '5b0d7a52-7c1e-4f43-9d6b-3c8f1a0e2b61';

@CommandHandler(RegisterViewCommand)
export class RegisterViewHandler implements ICommandHandler<RegisterViewCommand, RegisterViewResult> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ definition }: RegisterViewCommand): Promise<RegisterViewResult> {
    const view = compileView(definition);
    const name = materializedViewName(view);
    const streamId = `${VIEW_DEFINITION_STREAM_PREFIX}${name}`;
    const [last] = await this.store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    const content = canonicalJson(definition);
    if (last && canonicalJson((last.data as ViewDefinitionRegisteredData).definition) === content) {
      return { status: 'unchanged', name };
    }
    const data: ViewDefinitionRegisteredData = { name, definition: definition as Record<string, unknown> };
    await this.store.append(streamId, [
      {
        id: uuidv5(`${name}|${sha256Hex(content)}|${last?.streamRevision ?? -1}`, EVENT_NAMESPACE),
        type: VIEW_DEFINITION_REGISTERED,
        data,
      },
    ]);
    return { status: 'registered', name, resource: view.resource, columns: view.columns.map((c) => c.name) };
  }
}
