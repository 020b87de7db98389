export * from './domain/view-definition';
export * from './domain/view-definition.error';
export * from './domain/compile-view';
