/**
 * A ViewDefinition that cannot be run: `element` is the path of the offending element inside the definition
 * (`select[0].column[1].name`), so the OperationOutcome can say exactly where.
 */
export class ViewDefinitionError extends Error {
  constructor(
    readonly element: string,
    readonly problem: string,
  ) {
    super(`${element}: ${problem}`);
    this.name = 'ViewDefinitionError';
  }
}

/**
 * A valid view that failed on one resource (a non-collection column with several values, a `where` that is not
 * boolean): names the element and the resource so the caller can say which data broke the definition's promise.
 */
export class ViewEvaluationError extends Error {
  constructor(
    readonly element: string,
    readonly resourceKey: string,
    readonly problem: string,
  ) {
    super(`${element} on ${resourceKey}: ${problem}`);
    this.name = 'ViewEvaluationError';
  }
}
