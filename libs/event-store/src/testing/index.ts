/** Test-only entry point (`@fa/event-store/testing`): the contract every EventStore adapter must pass. */
export * from './event-store.contract';
