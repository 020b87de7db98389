import { Command } from '@nestjs/cqrs';

export type RegisterViewResult =
  | { status: 'registered'; name: string; resource: string; columns: string[] }
  | { status: 'unchanged'; name: string };

/** Registers a ViewDefinition for materialization (`cli views add`). Throws ViewDefinitionError when invalid. */
export class RegisterViewCommand extends Command<RegisterViewResult> {
  constructor(readonly definition: unknown) {
    super();
  }
}
