// Protocol sites no explorer scenario reaches, and why. A file name excuses every site in it.
export const COVERAGE_EXCEPTIONS: Record<string, string> = {};
