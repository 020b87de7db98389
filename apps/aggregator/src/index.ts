/** What tests and benches may use of the service: the HTTP application on an opened runtime. */
export { createAggregatorApp } from './app.factory';
