import type { CompiledView } from './compile-view';
import type { ViewColumnInfo } from './view-definition';
import { ViewDefinitionError } from './view-definition.error';

/** Columns every materialized row has besides the view's own. */
export const MATERIALIZED_COLUMNS = ['resource_id', 'recorded_from', 'recorded_to'] as const;

/**
 * A column tag (the spec's `column.tag`) naming the source-patient key of a materialized view: its value is the
 * name of the extra column that holds that patient's golden patient, as Patient Identity's membership said then.
 */
export const GOLDEN_PATIENT_TAG = 'golden-patient';

/** The golden patient column a materialized view gets: the tagged patient key and the column it adds. */
export interface GoldenPatientColumn {
  patientColumn: string;
  goldenColumn: string;
}

/** A materialized view is named by the definition's `name`: a lower-case SQL name, since it names a function. */
export function materializedViewName(view: CompiledView): string {
  const name = view.name;
  if (name === undefined || !/^[a-z][a-z0-9_]{0,62}$/.test(name) || name.endsWith('_history')) {
    throw new ViewDefinitionError(
      'name',
      'a materialized view needs a name of a-z, 0-9 and _, starting with a letter, not ending in _history',
    );
  }
  goldenPatientColumn(view);
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

/** The view's golden patient column, if one column carries the golden-patient tag (at most one may). */
export function goldenPatientColumn(view: CompiledView): GoldenPatientColumn | undefined {
  const tagged = view.columns.flatMap((column) =>
    (column.tags ?? [])
      .filter((t) => t.name === GOLDEN_PATIENT_TAG)
      .map((t) => ({ column, goldenColumn: t.value })),
  );
  if (tagged.length === 0) return undefined;
  if (tagged.length > 1) {
    throw new ViewDefinitionError('select', `at most one column may carry the ${GOLDEN_PATIENT_TAG} tag`);
  }
  const [{ column, goldenColumn }] = tagged;
  const taken = [...MATERIALIZED_COLUMNS, ...view.columns.map((c) => c.name)];
  if (column.collection || !/^[a-z][a-z0-9_]{0,62}$/.test(goldenColumn) || taken.includes(goldenColumn)) {
    throw new ViewDefinitionError(
      'select',
      `the ${GOLDEN_PATIENT_TAG} tag goes on a single-valued column and names a new lower-case SQL column, not ${JSON.stringify(goldenColumn)}`,
    );
  }
  return { patientColumn: column.name, goldenColumn };
}
