export * from './duplicate-claim-detected.event';
export * from './duplicate-claim-resolved.event';
export * from './revenue-cycle-event';
