/** The part of @lhncbc/ucum-lhc (no type declarations of its own) that quantity comparison uses. */
declare module '@lhncbc/ucum-lhc' {
  export const UcumLhcUtils: {
    getInstance(): {
      convertToBaseUnits(
        unit: string,
        value: number,
      ): {
        status: string;
        magnitude?: number;
        unitToExp?: Record<string, number>;
        fromUnitIsSpecial?: boolean;
      };
    };
  };
}
