/** Conversions at the repository boundary, identical for both dialects (see db/schema.ts). */
export const toIso = (date: Date): string => date.toISOString();

export const toJson = (value: unknown): string => JSON.stringify(value ?? null);

/** PostgreSQL text cannot hold NUL (SQLite can): both dialects store U+FFFD in its place, so keys match on either. */
export const storableText = (text: string): string => (text.includes('\u0000') ? text.replaceAll('\u0000', '\ufffd') : text);

export function fromJson<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
