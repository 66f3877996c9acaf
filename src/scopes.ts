import { InsufficientScopeError } from './errors.js'
import type { JsonObject } from './json.js'

/** How required scopes combine: every one of them, or at least one. */
export type ScopeMatch = 'all' | 'any'

/**
 * The scopes a token grants: the space-delimited `scope` claim (RFC 6749 §3.3, RFC 9068 §2.2.3,
 * case-sensitive) and the `scp` claim (an array, or a space-delimited string), without duplicates.
 */
export function grantedScopes(payload: JsonObject): readonly string[] {
  const { scope, scp } = payload
  const found = new Set<string>()
  for (const source of [scope, scp]) {
    const list = typeof source === 'string' ? source.split(' ') : Array.isArray(source) ? source : []
    for (const item of list) if (typeof item === 'string' && item !== '') found.add(item)
  }
  return Object.freeze([...found])
}

/**
 * Throws unless `granted` satisfies `required` (`match` `'all'`, the default, or `'any'`). An empty
 * `required` list is always satisfied.
 *
 * @throws InsufficientScopeError carrying the required scopes for the challenge.
 */
export function assertScopes(granted: readonly string[], required: readonly string[], match: ScopeMatch = 'all'): void {
  if (required.length === 0) return
  const ok = match === 'all' ? required.every((scope) => granted.includes(scope)) : required.some((scope) => granted.includes(scope))
  if (!ok) throw new InsufficientScopeError(required)
}
