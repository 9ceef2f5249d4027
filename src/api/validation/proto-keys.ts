/**
 * The path of the first object key named `__proto__` in a parsed JSON value, or null. JSON.parse
 * keeps such a key as an own property, but zod's records and most object code skip or mishandle
 * it (`logit_bias: {"__proto__": 5}` was silently dropped), and a key that can reach an object's
 * prototype has no place in a request: it is refused rather than guessed at.
 */
export function findProtoKey(value: unknown, path: string[] = []): string[] | null {
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findProtoKey(value[i], [...path, String(i)]);
      if (found) return found;
    }
    return null;
  }
  if (Object.hasOwn(value, '__proto__')) return [...path, '__proto__'];
  for (const [key, child] of Object.entries(value)) {
    const found = typeof child === 'object' ? findProtoKey(child, [...path, key]) : null;
    if (found) return found;
  }
  return null;
}
