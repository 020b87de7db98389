export * from './config';
export * from './database/database';
export * from './database/embedded-postgres';
export * from './logger';
export * from './tokens';
export * from './database/copy-rows';
export * from './errors/failure-kind';
export * from './shutdown';
