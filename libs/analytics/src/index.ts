export * from './domain/view-definition';
export * from './domain/view-definition.error';
export * from './domain/compile-view';
export * from './queries/run-view/run-view.query';
export * from './analytics.module';
export * from './domain/row-formats';
