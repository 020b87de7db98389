import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { RegisterViewCommand } from '@fa/analytics';
import { REVENUE_CYCLE_VIEWS } from '../projections/views';

/**
 * Registers the context's read models (ViewDefinitions) with the analytics context when the application starts,
 * over the CommandBus: a definition already registered is unchanged; a changed one is materialized anew.
 */
@Injectable()
export class RegisterRevenueViews implements OnApplicationBootstrap {
  constructor(private readonly commandBus: CommandBus) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const view of REVENUE_CYCLE_VIEWS) {
      await this.commandBus.execute(new RegisterViewCommand(JSON.parse(JSON.stringify(view))));
    }
  }
}
