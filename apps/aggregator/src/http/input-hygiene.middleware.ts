import type { NextFunction, Request, Response } from 'express';
import {
  decodeUtf8Strict,
  describeForbidden,
  findForbiddenCharacter,
  findJsonProblem,
  MAX_PARAMETER_NAME_LENGTH,
  MAX_PARAMETER_VALUE_LENGTH,
} from '@fa/fhir';
import { FhirError } from './fhir-error';

/** More parameters than this in one request is not a search anyone means. */
export const MAX_PARAMETERS = 100;

export interface ParameterProblem {
  reason: string;
  /** The parameter's name as sent (for the OperationOutcome's expression), when it has a usable one. */
  parameter?: string;
}

/**
 * Checks a raw query string (without "?") the way it arrived: each name and value percent-decoded to bytes
 * and decoded as strict UTF-8, then refused if it holds a NUL, an unpaired surrogate or a control character,
 * or is longer than any parameter may be (each type's own limit is the search parser's, input-limits.ts).
 * Express's own parsing would let invalid UTF-8 through undecoded and NULs through to SQL.
 */
export function checkQueryString(query: string): ParameterProblem | undefined {
  if (query === '') return undefined;
  const pairs = query.split('&').filter((pair) => pair !== '');
  if (pairs.length > MAX_PARAMETERS) {
    return { reason: `too many parameters: ${pairs.length}, at most ${MAX_PARAMETERS}` };
  }
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    const rawName = equals < 0 ? pair : pair.slice(0, equals);
    const rawValue = equals < 0 ? '' : pair.slice(equals + 1);
    const name = decodeUtf8Strict(percentDecode(rawName));
    if (!name.ok) return { reason: `a parameter name is ${name.problem.reason}` };
    const nameProblem = findForbiddenCharacter(name.text, { controls: true });
    if (nameProblem) return { reason: describeForbidden(nameProblem, 'a parameter name').reason };
    const parameter = name.text.slice(0, 64);
    const value = decodeUtf8Strict(percentDecode(rawValue));
    if (!value.ok) return { reason: `parameter ${parameter}: ${value.problem.reason}`, parameter };
    const problem = checkParameter(name.text, value.text);
    if (problem) return problem;
  }
  return undefined;
}

/** One decoded name and value: characters and lengths. */
function checkParameter(name: string, value: string): ParameterProblem | undefined {
  const parameter = name.slice(0, 64);
  if (name.length > MAX_PARAMETER_NAME_LENGTH)
    return {
      reason: `a parameter name of ${name.length} characters is too long; at most ${MAX_PARAMETER_NAME_LENGTH}`,
    };
  const valueProblem = findForbiddenCharacter(value, { controls: true });
  if (valueProblem)
    return {
      reason: describeForbidden(valueProblem, `the value of parameter ${parameter}`).reason,
      parameter,
    };
  if (value.length > MAX_PARAMETER_VALUE_LENGTH)
    return {
      reason: `${parameter}: a value of ${value.length} characters is too long; no parameter takes more than ${MAX_PARAMETER_VALUE_LENGTH}`,
      parameter,
    };
  return undefined;
}

/** application/x-www-form-urlencoded decoding to bytes: "+" is a space, "%XX" a byte, a stray "%" itself. */
function percentDecode(text: string): Uint8Array {
  const plus = text.replace(/\+/g, ' ');
  if (!plus.includes('%')) return Buffer.from(plus, 'utf8');
  const bytes: number[] = [];
  for (let i = 0; i < plus.length; i++) {
    if (plus[i] === '%' && /^[0-9a-fA-F]{2}$/.test(plus.slice(i + 1, i + 3))) {
      bytes.push(parseInt(plus.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const code = plus.codePointAt(i)!;
      const char = String.fromCodePoint(code);
      bytes.push(...Buffer.from(char, 'utf8'));
      if (code > 0xffff) i++;
    }
  }
  return Uint8Array.from(bytes);
}

/** Form fields (POST _search) are parameters too; a JSON body may not hold what cannot be stored or logged. */
function checkBody(request: Request): ParameterProblem | undefined {
  const body: unknown = request.body;
  if (body === undefined || body === null || typeof body !== 'object') return undefined;
  if (request.is('application/x-www-form-urlencoded')) {
    const entries = Object.entries(body as Record<string, unknown>);
    if (entries.length > MAX_PARAMETERS)
      return { reason: `too many parameters: ${entries.length}, at most ${MAX_PARAMETERS}` };
    for (const [name, value] of entries) {
      const nameProblem = findForbiddenCharacter(name, { controls: true });
      if (nameProblem) return { reason: describeForbidden(nameProblem, 'a parameter name').reason };
      for (const item of Array.isArray(value) ? value : [value]) {
        const problem = typeof item === 'string' ? checkParameter(name, item) : undefined;
        if (problem) return problem;
      }
    }
    return undefined;
  }
  // Depth, size, each element's length by its FHIR type when the body is a resource, NUL and surrogates.
  const problem = findJsonProblem(body, { strings: true });
  return problem ? { reason: `the request body: ${problem.reason}` } : undefined;
}

/**
 * The HTTP side of input hygiene: every query parameter and body is checked before any route sees it; a
 * problem is a 400 OperationOutcome naming the parameter (the problem is described, the value never quoted).
 */
export function inputHygiene(request: Request, response: Response, next: NextFunction): void {
  const url = request.originalUrl ?? request.url;
  const question = url.indexOf('?');
  const problem =
    (question >= 0 ? checkQueryString(url.slice(question + 1)) : undefined) ?? checkBody(request);
  if (!problem) {
    next();
    return;
  }
  const error = FhirError.badRequest(problem.reason, problem.parameter);
  if (request.path.startsWith('/fhir')) {
    response.status(400).type('application/fhir+json').send(JSON.stringify(error.toOperationOutcome()));
  } else {
    response.status(400).json({ statusCode: 400, message: problem.reason, error: 'Bad Request' });
  }
}
