/**
 * Parses a FHIR date, dateTime or instant into the time range it denotes: "2024" is the whole year,
 * "2024-03-01T10:00:00Z" one instant. Returns undefined for anything that is not a valid FHIR date/time.
 */
export function parseFhirDateRange(value: string): { start: Date; end: Date } | undefined {
  const match =
    /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/.exec(
      value,
    );
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = match;
  if (h !== undefined && zone === undefined) return undefined;
  const year = Number(y);
  const month = mo === undefined ? undefined : Number(mo);
  const day = d === undefined ? undefined : Number(d);
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  if (day !== undefined && (day < 1 || day > new Date(Date.UTC(year, month!, 0)).getUTCDate()))
    return undefined;
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || (s !== undefined && Number(s) > 59)))
    return undefined;
  if (h === undefined) {
    // Dates without a time zone are taken as UTC: the server's record times are UTC.
    const start = new Date(Date.UTC(year, (month ?? 1) - 1, day ?? 1));
    const end =
      day !== undefined
        ? new Date(Date.UTC(year, month! - 1, day + 1))
        : month !== undefined
          ? new Date(Date.UTC(year, month, 1))
          : new Date(Date.UTC(year + 1, 0, 1));
    return { start, end: new Date(end.getTime() - 1) };
  }
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${frac ? `.${frac.slice(0, 3).padEnd(3, '0')}` : ''}${zone}`;
  const instant = new Date(iso);
  if (Number.isNaN(instant.getTime())) return undefined;
  if (s === undefined) return { start: instant, end: new Date(instant.getTime() + 59_999) };
  // Record times have millisecond precision: a time to the second covers that whole second.
  if (frac === undefined) return { start: instant, end: new Date(instant.getTime() + 999) };
  return { start: instant, end: instant };
}
