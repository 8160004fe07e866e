import { RE2JS } from 're2js';

/**
 * Regular expressions written by users for label matching (`=~`, `!~`) and rule templates (`match`,
 * `reReplaceAll`), compiled with RE2 semantics as Prometheus uses them: linear time in the input whatever the
 * pattern (a backtracking engine lets `(.?){27}.{27}` block the event loop for seconds from one viewer request),
 * and Go's syntax, so a pattern that works in Prometheus works here. Compiled patterns are cached.
 */

const MAX_PATTERN_LENGTH = 1000;
const cache = new Map<string, RE2JS>();

function compile(source: string): RE2JS {
  let re = cache.get(source);
  if (!re) {
    if (source.length > MAX_PATTERN_LENGTH + 8) throw new Error(`the pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
    re = RE2JS.compile(source);
    if (cache.size > 2000) cache.clear();
    cache.set(source, re);
  }
  return re;
}

/** A fully anchored matcher, as Prometheus label matchers are: `storage-.*` matches `storage-3`, not `x-storage-3`. Throws on bad syntax. */
export function anchoredMatcher(pattern: string): (value: string) => boolean {
  const re = compile(`^(?:${pattern})$`);
  return (value) => re.matcher(value).find();
}

/** Go's `regexp.MatchString`: unanchored. */
export function re2Test(pattern: string, value: string): boolean {
  return compile(pattern).matcher(value).find();
}

/** Go's `regexp.ReplaceAllString`: `$1` and `${1}` in the replacement name groups. */
export function re2ReplaceAll(pattern: string, replacement: string, value: string): string {
  return compile(pattern).matcher(value).replaceAll(replacement.replace(/\$\{(\d+)\}/g, '$$$1'));
}
