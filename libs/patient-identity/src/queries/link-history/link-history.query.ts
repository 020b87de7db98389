import { Query } from '@nestjs/cqrs';
import type { IdentityDecision } from '../identity.reader';

/** $mdm-link-history: every decision about a golden patient and/or a source patient, oldest first. */
export class LinkHistoryQuery extends Query<IdentityDecision[]> {
  constructor(readonly criteria: { goldenId?: string; sourcePatientId?: string }) {
    super();
  }
}
