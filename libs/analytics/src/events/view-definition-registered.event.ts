/** A ViewDefinition to materialize, in stream `ViewDefinition-<name>`; a later one of the same name replaces it. */
export const VIEW_DEFINITION_REGISTERED = 'ViewDefinitionRegistered';
export const VIEW_DEFINITION_STREAM_PREFIX = 'ViewDefinition-';

export interface ViewDefinitionRegisteredData {
  name: string;
  definition: Record<string, unknown>;
}
