/** The matching engine (its record-linkage datasets and pairwise scoring for the bench are in @fa/testkit). */
export * from './features';
export * from './nicknames';
export * from './comparators';
export * from './blocking';
export * from './fellegi-sunter';
export * from './em';
export * from './model-fitting';
export * from './thresholds';
export * from './seeded-random';
export * from './model-report';
