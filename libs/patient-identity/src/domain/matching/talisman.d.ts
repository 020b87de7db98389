// talisman ships CommonJS without typings; declare only the functions the matcher uses.
declare module 'talisman/metrics/jaro-winkler' {
  function jaroWinkler(a: string, b: string): number;
  export = jaroWinkler;
}
declare module 'talisman/metrics/damerau-levenshtein' {
  function damerauLevenshtein(a: string, b: string): number;
  namespace damerauLevenshtein {
    /** Infinity as soon as the distance exceeds `max`. */
    function limited(max: number, a: string, b: string): number;
  }
  export = damerauLevenshtein;
}
declare module 'talisman/phonetics/double-metaphone' {
  function doubleMetaphone(word: string): [string, string];
  export = doubleMetaphone;
}
