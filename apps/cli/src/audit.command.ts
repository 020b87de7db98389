import type { INestApplicationContext } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { Command } from 'commander';
import { VerifyAuditChainQuery } from '@fa/audit';

type WithContext = <T>(fn: (runtime: unknown, context: INestApplicationContext) => Promise<T>) => Promise<T>;

/** `audit verify`: the use case is VerifyAuditChainQuery; this only prints its report and sets the exit code. */
export function auditCommand(withContext: WithContext): Command {
  const command = new Command('audit').description('The access audit (hash chain and signed anchors)');
  command
    .command('verify')
    .description(
      'Recompute the audit hash chain from its first record against the signed anchors (AUDIT_ANCHOR_DIR or DATA_DIR/audit-anchors, key in DATA_DIR); exit 1 naming the first altered, deleted or inserted record',
    )
    .action(async () => {
      const report = await withContext((_runtime, context) =>
        context.get(QueryBus).execute(new VerifyAuditChainQuery()),
      );
      const anchored =
        report.anchors === 0
          ? 'no anchors yet'
          : `${report.anchorsMatched} of ${report.anchors} anchors matched, anchored up to record ${report.anchoredUpTo}`;
      if (report.problem) {
        process.stderr.write(
          `audit chain ${report.chainId}: FAILED at record ${report.problem.seq} (${report.problem.kind}): ${report.problem.detail}\n`,
        );
        process.exitCode = 1;
        return;
      }
      process.stdout.write(
        `audit chain ${report.chainId}: ok, ${report.checked} records verified (head ${report.head}); ${anchored}\n`,
      );
    });
  return command;
}
