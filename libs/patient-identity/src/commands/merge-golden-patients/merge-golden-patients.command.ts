import { Command } from '@nestjs/cqrs';

/** $mdm-merge-golden-resources: every link of `fromGoldenId` moves to `intoGoldenId`, which survives. */
export class MergeGoldenPatientsCommand extends Command<{ intoGoldenId: string; moved: string[] }> {
  constructor(
    readonly fromGoldenId: string,
    readonly intoGoldenId: string,
    readonly reviewer: string,
    readonly requestId: string,
  ) {
    super();
  }
}
