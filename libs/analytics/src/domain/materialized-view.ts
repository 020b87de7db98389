import type { CompiledView } from './compile-view';
import type { ViewColumnInfo } from './view-definition';
import { ViewDefinitionError } from './view-definition.error';

/** Columns every materialized row has besides the view's own. */
export const MATERIALIZED_COLUMNS = ['resource_id', 'recorded_from', 'recorded_to'] as const;

/** A materialized view is named by the definition's `name`: a lower-case SQL name, since it names a function. */
export function materializedViewName(view: CompiledView): string {
  const name = view.name;
  if (name === undefined || !/^[a-z][a-z0-9_]{0,62}$/.test(name)) {
    throw new ViewDefinitionError(
      'name',
      'a materialized view needs a name of a-z, 0-9 and _, starting with a letter',
    );
  }
  for (const column of view.columns) {
    if ((MATERIALIZED_COLUMNS as readonly string[]).includes(column.name)) {
      throw new ViewDefinitionError(
        'select',
        `column name ${column.name} is reserved in a materialized view`,
      );
    }
  }
  return name;
}

/** The PostgreSQL type of a column, by its FHIR type: a collection is jsonb, anything without a safe cast text. */
export function sqlType(column: ViewColumnInfo): string {
  if (column.collection) return 'jsonb';
  switch (column.type) {
    case 'boolean':
      return 'boolean';
    case 'integer':
    case 'positiveInt':
    case 'unsignedInt':
    case 'integer64':
      return 'bigint';
    case 'decimal':
      return 'numeric';
    default:
      return 'text';
  }
}
