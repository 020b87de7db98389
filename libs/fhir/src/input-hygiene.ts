/**
 * Input hygiene: the one set of checks every boundary applies to text it receives (HTTP parameters and bodies,
 * Kafka message values, source files) before any of it reaches SQL, FHIRPath or a log line. Pure.
 *
 * - bytes must be valid UTF-8 (no overlong forms, no encoded surrogates, nothing truncated): `invalid-utf8`;
 * - no string may hold U+0000, which PostgreSQL's text and jsonb cannot store: `nul-character`;
 * - no string may hold a lone UTF-16 surrogate (a JSON `\ud800` escape without its pair): `lone-surrogate`;
 * - where the type forbids them (search parameters), no C0 control character but tab, CR and LF (which FHIR
 *   strings allow), and no DEL: `control-character`;
 * - the limits of input-limits.ts: a value longer than its type allows (`too-long`), JSON nested too deep
 *   (`too-deep`) or with too many values (`too-many-elements`).
 */
export type HygieneCode =
  | 'invalid-utf8'
  | 'nul-character'
  | 'lone-surrogate'
  | 'control-character'
  | 'too-long'
  | 'too-deep'
  | 'too-many-elements';

export interface HygieneProblem {
  code: HygieneCode;
  /** Human-readable, quoting no content: positions and field paths only. */
  reason: string;
}

export type Utf8Result = { ok: true; text: string } | { ok: false; problem: HygieneProblem };

const strict = () => new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8 strictly (a leading BOM is dropped); on failure says at which byte it goes wrong. */
export function decodeUtf8Strict(bytes: Uint8Array): Utf8Result {
  try {
    return { ok: true, text: strict().decode(bytes) };
  } catch {
    return {
      ok: false,
      problem: {
        code: 'invalid-utf8',
        reason: `not valid UTF-8: the byte sequence ending at byte ${firstInvalidByte(bytes)} is invalid`,
      },
    };
  }
}

/** The byte at which decoding first fails: a streamed prefix decodes iff it holds no invalid sequence, so halve. */
function firstInvalidByte(bytes: Uint8Array): number {
  let good = 0;
  let bad = bytes.length;
  while (bad - good > 1) {
    const middle = Math.floor((good + bad) / 2);
    try {
      strict().decode(bytes.subarray(0, middle), { stream: true });
      good = middle;
    } catch {
      bad = middle;
    }
  }
  return bad - 1;
}

const SUSPECT = /[\u0000-\u001f\u007f\ud800-\udfff]/;

/** The first forbidden character of a string, or undefined. Controls count only with { controls: true }. */
export function findForbiddenCharacter(
  text: string,
  options: { controls?: boolean } = {},
): { code: CharacterCode; index: number } | undefined {
  if (!SUSPECT.test(text)) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) return { code: 'nul-character', index: i };
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return { code: 'lone-surrogate', index: i };
    }
    if (c >= 0xdc00 && c <= 0xdfff) return { code: 'lone-surrogate', index: i };
    if (options.controls && ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f))
      return { code: 'control-character', index: i };
  }
  return undefined;
}

type CharacterCode = 'nul-character' | 'lone-surrogate' | 'control-character';

const DESCRIPTION: Record<CharacterCode, string> = {
  'nul-character': 'a NUL character (U+0000)',
  'lone-surrogate': 'an unpaired UTF-16 surrogate (invalid Unicode)',
  'control-character': 'a control character',
};

/** Describes a forbidden character of `what` (e.g. `parameter "name"`) without quoting the value. */
export function describeForbidden(
  found: { code: CharacterCode; index: number },
  what: string,
): HygieneProblem {
  return { code: found.code, reason: `${what} holds ${DESCRIPTION[found.code]} at character ${found.index}` };
}

/** False when JSON text cannot decode to a NUL or a lone surrogate (it has no such escape and no raw NUL). */
export function mayHoldUnstorable(jsonText: string): boolean {
  return /\u0000|\\u(0000|[dD][89a-fA-F])/.test(jsonText);
}

/** Text made safe to store and show: NULs and lone surrogates become U+FFFD. For excerpts of bad input. */
export function storableText(text: string): string {
  if (!SUSPECT.test(text)) return text;
  return text.replace(
    /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    '\ufffd',
  );
}
