import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import type { Patient } from 'fhir/r4';
import { ReadResourceQuery } from '@fa/fhir-store';
import { buildGoldenPatient, GoldenMember, SurvivorshipPolicy } from '../../domain/survivorship';
import { SURVIVORSHIP_POLICY } from '../../identity-tokens';
import { IdentityReader } from '../identity.reader';
import { GoldenPatientOutcome, GoldenPatientQuery } from './golden-patient.query';

@QueryHandler(GoldenPatientQuery)
export class GoldenPatientHandler implements IQueryHandler<GoldenPatientQuery, GoldenPatientOutcome> {
  constructor(
    private readonly reader: IdentityReader,
    private readonly queryBus: QueryBus,
    @Inject(SURVIVORSHIP_POLICY) private readonly survivorship: SurvivorshipPolicy,
  ) {}

  async execute(query: GoldenPatientQuery): Promise<GoldenPatientOutcome> {
    const golden = await this.reader.golden(query.goldenId);
    const at = query.asOf ?? new Date();
    if (!golden || golden.createdAt > at) return { status: 'not-found' };
    if (golden.mergedInto && golden.mergedAt && golden.mergedAt <= at) {
      return { status: 'merged', into: golden.mergedInto, at: golden.mergedAt };
    }
    const { links } = await this.reader.links({ goldenId: query.goldenId, asOf: query.asOf, limit: 10_000 });
    const members: GoldenMember[] = [];
    for (const link of links) {
      // Source patients are read through the FHIR store's query, as of the same instant.
      const outcome = await this.queryBus.execute(
        new ReadResourceQuery('Patient', link.sourcePatientId, query.asOf),
      );
      if (outcome.status !== 'found') continue;
      members.push({
        sourcePatientId: link.sourcePatientId,
        source: link.source,
        patient: outcome.version.resource as Patient,
        recordedAt: outcome.version.recordedFrom,
      });
    }
    const patient = buildGoldenPatient(query.goldenId, members, this.survivorship);
    // Each membership change is a version (Patient/<golden>/_history lists them).
    const changes = (await this.reader.membershipChanges(query.goldenId)).filter((t) => t <= at);
    const last = changes[changes.length - 1];
    patient.meta = {
      ...patient.meta,
      versionId: String(Math.max(changes.length, 1)),
      ...(last ? { lastUpdated: last.toISOString() } : {}),
    };
    return { status: 'found', patient, links };
  }
}
