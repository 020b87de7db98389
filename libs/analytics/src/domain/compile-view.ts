import { isFhirDecimal, isR4ResourceType } from '@fa/fhir';
import { ViewColumnInfo, ViewRow } from './view-definition';
import { ViewDefinitionError, ViewEvaluationError } from './view-definition.error';
import { CompiledPath, compilePath, toJsonValues } from './view-fhirpath';
import { compileConstants, RESERVED_VARIABLES, variablesUsed } from './view-constants';

/** A validated ViewDefinition with every FHIRPath expression compiled once: run it over resources. */
export interface CompiledView {
  readonly resource: string;
  readonly name?: string;
  /** The output columns in order (the spec's column order: columns, then nested selects, then unionAll). */
  readonly columns: readonly ViewColumnInfo[];
  /** The rows of one resource (none when it is of another type or a `where` is not true). */
  rows(resource: Record<string, unknown>): ViewRow[];
}

interface Column extends ViewColumnInfo {
  element: string;
  path: CompiledPath;
}

interface SelectNode {
  element: string;
  columns: Column[];
  selects: SelectNode[];
  unionAll: SelectNode[];
  iterate?: { kind: 'forEach' | 'forEachOrNull' | 'repeat'; element: string; paths: CompiledPath[] };
  /** Every column this node outputs, in order. */
  output: ViewColumnInfo[];
}

const SELECT_KEYS = new Set([
  'column',
  'select',
  'forEach',
  'forEachOrNull',
  'repeat',
  'unionAll',
  'id',
  'extension',
]);
const COLUMN_KEYS = new Set(['name', 'path', 'type', 'collection', 'description', 'tag', 'id', 'extension']);
const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

type Env = Record<string, unknown>;

/** Validates the definition (throwing a ViewDefinitionError naming the element) and compiles it. */
export function compileView(definition: unknown): CompiledView {
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
    throw new ViewDefinitionError('ViewDefinition', 'must be a JSON object');
  }
  const view = definition as Record<string, unknown>;
  if (view.resourceType !== undefined && view.resourceType !== 'ViewDefinition') {
    throw new ViewDefinitionError(
      'resourceType',
      `must be ViewDefinition, not ${JSON.stringify(view.resourceType)}`,
    );
  }
  if (view.resource === undefined) throw new ViewDefinitionError('resource', 'is required');
  if (typeof view.resource !== 'string' || !isR4ResourceType(view.resource)) {
    throw new ViewDefinitionError('resource', `${JSON.stringify(view.resource)} is not an R4 resource type`);
  }
  const constants = compileConstants(view.constant);
  const compiler = new Compiler(new Set(Object.keys(constants)));
  const selects = view.select;
  if (!Array.isArray(selects) || selects.length === 0) {
    throw new ViewDefinitionError('select', 'is required: an array of at least one select');
  }
  const root = compiler.node({ select: selects }, '');
  const where = compiler.where(view.where);
  const seen = new Map<string, number>();
  root.output.forEach((column) => seen.set(column.name, (seen.get(column.name) ?? 0) + 1));
  const duplicates = [...seen].filter(([, count]) => count > 1).map(([name]) => name);
  if (duplicates.length > 0) {
    throw new ViewDefinitionError('select', `duplicate column name(s): ${duplicates.join(', ')}`);
  }
  const resourceType = view.resource;
  return {
    resource: resourceType,
    name: typeof view.name === 'string' ? view.name : undefined,
    columns: root.output,
    rows(stored) {
      if (stored.resourceType !== resourceType) return [];
      const resource = withNumberDecimals(stored) as Record<string, unknown>;
      const key = `${resourceType}/${String(resource.id)}`;
      const env = { ...constants, rowIndex: 0 };
      for (const condition of where) {
        const result = toJsonValues(condition.path(resource, env));
        if (result.length === 0) return [];
        if (result.length > 1 || typeof result[0] !== 'boolean') {
          throw new ViewEvaluationError(
            condition.element,
            key,
            'a where path must give a single boolean or nothing',
          );
        }
        if (result[0] !== true) return [];
      }
      return evaluate(root, resource, env, key);
    },
  };
}

class Compiler {
  constructor(private readonly constants: Set<string>) {}

  path(expression: unknown, element: string): CompiledPath {
    if (typeof expression !== 'string' || expression.trim() === '') {
      throw new ViewDefinitionError(element, 'must be a FHIRPath expression (a non-empty string)');
    }
    for (const variable of variablesUsed(expression)) {
      if (!this.constants.has(variable) && !RESERVED_VARIABLES.has(variable)) {
        throw new ViewDefinitionError(element, `%${variable} is not a constant of this view`);
      }
    }
    try {
      return compilePath(expression);
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new ViewDefinitionError(element, `FHIRPath does not parse: ${message}`);
    }
  }

  where(where: unknown): { element: string; path: CompiledPath }[] {
    if (where === undefined) return [];
    if (!Array.isArray(where)) throw new ViewDefinitionError('where', 'must be an array');
    return where.map((w: unknown, i) => {
      const element = `where[${i}].path`;
      if (typeof w !== 'object' || w === null)
        throw new ViewDefinitionError(`where[${i}]`, 'must be an object');
      return { element, path: this.path((w as Record<string, unknown>).path, element) };
    });
  }

  node(raw: unknown, element: string): SelectNode {
    const at = (child: string) => (element ? `${element}.${child}` : child);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ViewDefinitionError(element || 'select', 'must be an object');
    }
    const select = raw as Record<string, unknown>;
    for (const key of Object.keys(select)) {
      if (!SELECT_KEYS.has(key)) throw new ViewDefinitionError(at(key), 'is not an element of a select');
    }
    const iterators = (['forEach', 'forEachOrNull', 'repeat'] as const).filter(
      (k) => select[k] !== undefined,
    );
    if (iterators.length > 1) {
      throw new ViewDefinitionError(element || 'select', `only one of ${iterators.join(', ')} may be given`);
    }
    let iterate: SelectNode['iterate'];
    const kind = iterators[0];
    if (kind === 'repeat') {
      const paths = select.repeat;
      if (!Array.isArray(paths) || paths.length === 0) {
        throw new ViewDefinitionError(at('repeat'), 'must be a non-empty array of FHIRPath expressions');
      }
      iterate = { kind, element: at('repeat'), paths: paths.map((p, i) => this.path(p, at(`repeat[${i}]`))) };
    } else if (kind) {
      iterate = { kind, element: at(kind), paths: [this.path(select[kind], at(kind))] };
    }
    const columns = this.array(select.column, at('column')).map((c, i) => this.column(c, at(`column[${i}]`)));
    const selects = this.array(select.select, at('select')).map((s, i) => this.node(s, at(`select[${i}]`)));
    const unionAll = this.array(select.unionAll, at('unionAll')).map((s, i) =>
      this.node(s, at(`unionAll[${i}]`)),
    );
    const unionColumns = this.unionColumns(unionAll, at('unionAll'));
    const output = [
      ...columns.map(({ name, type, collection, tags }) => ({ name, type, collection, tags })),
      ...selects.flatMap((s) => s.output),
      ...unionColumns,
    ];
    return { element, columns, selects, unionAll, iterate, output };
  }

  private unionColumns(branches: SelectNode[], element: string): ViewColumnInfo[] {
    if (branches.length === 0) return [];
    const names = (n: SelectNode) => n.output.map((c) => c.name).join(', ');
    const first = names(branches[0]);
    branches.forEach((branch, i) => {
      if (names(branch) !== first) {
        throw new ViewDefinitionError(
          `${element}[${i}]`,
          `every unionAll branch must have the same columns in the same order: [${names(branch)}] vs [${first}]`,
        );
      }
    });
    return branches[0].output;
  }

  private array(value: unknown, element: string): unknown[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw new ViewDefinitionError(element, 'must be an array');
    return value;
  }

  private column(raw: unknown, element: string): Column {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ViewDefinitionError(element, 'must be an object');
    }
    const column = raw as Record<string, unknown>;
    for (const key of Object.keys(column)) {
      if (!COLUMN_KEYS.has(key))
        throw new ViewDefinitionError(`${element}.${key}`, 'is not an element of a column');
    }
    if (column.name === undefined) throw new ViewDefinitionError(`${element}.name`, 'is required');
    if (typeof column.name !== 'string' || !NAME.test(column.name)) {
      throw new ViewDefinitionError(
        `${element}.name`,
        'must be letters, digits and _, starting with a letter',
      );
    }
    if (column.collection !== undefined && typeof column.collection !== 'boolean') {
      throw new ViewDefinitionError(`${element}.collection`, 'must be true or false');
    }
    if (column.type !== undefined && (typeof column.type !== 'string' || column.type === '')) {
      throw new ViewDefinitionError(`${element}.type`, 'must be a FHIR type name');
    }
    if (column.path === undefined) throw new ViewDefinitionError(`${element}.path`, 'is required');
    const tags = this.array(column.tag, `${element}.tag`).map((tag, i) => {
      const t = tag as Record<string, unknown> | null;
      if (typeof t?.name !== 'string' || typeof t.value !== 'string') {
        throw new ViewDefinitionError(`${element}.tag[${i}]`, 'must have a string name and a string value');
      }
      return { name: t.name, value: t.value };
    });
    return {
      name: column.name,
      type: column.type as string | undefined,
      collection: column.collection === true,
      ...(tags.length > 0 ? { tags } : {}),
      element,
      path: this.path(column.path, `${element}.path`),
    };
  }
}

function evaluate(node: SelectNode, focus: unknown, env: Env, key: string): ViewRow[] {
  if (!node.iterate) return content(node, focus, env, key);
  const foci =
    node.iterate.kind === 'repeat'
      ? repeat(node.iterate.paths, focus, env)
      : node.iterate.paths[0](focus, env).filter(hasValue);
  if (foci.length === 0) return node.iterate.kind === 'forEachOrNull' ? [nullRow(node, env)] : [];
  return foci.flatMap((f, rowIndex) => content(node, f, { ...env, rowIndex }, key));
}

/**
 * forEachOrNull over nothing: one row of nulls, except that the node's own columns are evaluated over an empty
 * focus, so `%rowIndex` is 0 and a constant keeps its value.
 */
function nullRow(node: SelectNode, env: Env): ViewRow {
  const row: ViewRow = Object.fromEntries(node.output.map((c) => [c.name, c.collection ? [] : null]));
  for (const column of node.columns) {
    const values = toJsonValues(column.path([], { ...env, rowIndex: 0 }));
    row[column.name] = column.collection ? values : (values[0] ?? null);
  }
  return row;
}

/** Depth first, each node before its descendants, following every path from every node reached. */
function repeat(paths: CompiledPath[], focus: unknown, env: Env): unknown[] {
  const out: unknown[] = [];
  const walk = (node: unknown) => {
    for (const path of paths) {
      for (const child of path(node, env).filter(hasValue)) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(focus);
  return out;
}

function content(node: SelectNode, focus: unknown, env: Env, key: string): ViewRow[] {
  const own: ViewRow = {};
  for (const column of node.columns) {
    const values = toJsonValues(column.path(focus, env));
    if (column.collection) own[column.name] = values;
    else if (values.length > 1) {
      throw new ViewEvaluationError(
        `${column.element}.path`,
        key,
        `gave ${values.length} values; a column that is not a collection takes at most one (set collection: true)`,
      );
    } else own[column.name] = values.length === 0 ? null : values[0];
  }
  let rows: ViewRow[] = [own];
  for (const select of node.selects) rows = product(rows, evaluate(select, focus, env, key));
  if (node.unionAll.length > 0) {
    rows = product(
      rows,
      node.unionAll.flatMap((branch) => evaluate(branch, focus, env, key)),
    );
  }
  return rows;
}

function product(left: ViewRow[], right: ViewRow[]): ViewRow[] {
  return left.flatMap((l) => right.map((r) => ({ ...l, ...r })));
}

/**
 * The resource with each FhirDecimal (a decimal kept as written, e.g. 1.50) as its number: fhirpath.js compares
 * and computes only with numbers, so a view sees the value, not its written precision. Copies only the objects
 * on the way to a FhirDecimal; a resource without one is returned as it is.
 */
function withNumberDecimals(value: unknown): unknown {
  if (isFhirDecimal(value)) return value.valueOf();
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const converted = withNumberDecimals(item);
      if (converted !== item) (copy ??= [...value])[i] = converted;
    });
    return copy ?? value;
  }
  if (typeof value === 'object' && value !== null) {
    let copy: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      const converted = withNumberDecimals(item);
      if (converted !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = converted;
    }
    return copy ?? value;
  }
  return value;
}

/** fhirpath.js keeps metadata-only primitives (an `_birthDate` without a value) as nodes without data. */
function hasValue(node: unknown): boolean {
  return !(
    typeof node === 'object' &&
    node !== null &&
    'data' in node &&
    (node as { data: unknown }).data == null
  );
}
