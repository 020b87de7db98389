const PATIENT_REFERENCE = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]*)?$/;
const PATIENT_REFERENCE_IN_TEXT = /(?<![A-Za-z])Patient\/([A-Za-z0-9\-.]{1,64})/g;
const REFERENCING_KEYS = new Set(['subject', 'patient']);

/**
 * The patients whose data a response carried, from what was actually sent: every Patient resource in it (a
 * read, a Bundle entry, a Parameters part) and every `subject` or `patient` reference to a Patient. JSON bodies
 * are parsed (NDJSON line by line); other text (CSV rows of a view, a line of a streamed part that is not a whole
 * document) is scanned for `Patient/<id>`. Returns
 * `Patient/<id>` sorted, each once.
 */
export function patientsInBody(body: string, contentType: string | undefined): string[] {
  const found = new Set<string>();
  if (body.length === 0) return [];
  if (contentType && /json/i.test(contentType)) {
    try {
      walk(JSON.parse(body), undefined, found);
    } catch {
      // NDJSON, or one part of a streamed answer: line by line, and text where a line is not a document.
      for (const line of body.split('\n')) {
        if (line.trim() === '') continue;
        try {
          walk(JSON.parse(line), undefined, found);
        } catch {
          scan(line, found);
        }
      }
    }
  } else scan(body, found);
  return [...found].sort();
}

/**
 * The same patients from the document a JSON answer was serialized from (the body is `JSON.stringify` of it):
 * no second parse of what the sender already held. `toJSON` is honoured, as serializing honours it.
 */
export function patientsInDocument(document: unknown): string[] {
  const found = new Set<string>();
  walk(document, undefined, found);
  return [...found].sort();
}

function scan(text: string, found: Set<string>): void {
  for (const match of text.matchAll(PATIENT_REFERENCE_IN_TEXT)) found.add(`Patient/${match[1]}`);
}

function walk(value: unknown, key: string | undefined, found: Set<string>): void {
  const node =
    typeof (value as { toJSON?: unknown } | null)?.toJSON === 'function'
      ? (value as { toJSON(): unknown }).toJSON()
      : value;
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) walk(item, key, found);
    return;
  }
  const object = node as Record<string, unknown>;
  if (object.resourceType === 'Patient' && typeof object.id === 'string') found.add(`Patient/${object.id}`);
  if (key !== undefined && REFERENCING_KEYS.has(key) && typeof object.reference === 'string') {
    const match = PATIENT_REFERENCE.exec(object.reference);
    if (match) found.add(`Patient/${match[1]}`);
  }
  for (const member of Object.keys(object)) walk(object[member], member, found);
}
