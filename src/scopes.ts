import { InsufficientScopeError } from './errors.js'
import type { JsonObject } from './json.js'

/** How required scopes combine: every one of them, or at least one. */
export type ScopeMatch = 'all' | 'any'

/**
 * The scopes a token grants: the space-delimited `scope` claim (RFC 6749 §3.3, RFC 9068 §2.2.3,
 * case-sensitive) and the `scp` claim (an array, or a space-delimited string), without duplicates.
 */
export function grantedScopes(payload: JsonObject): readonly string[] {
  const found: string[] = []
  addScopes(found, payload.scope)
  addScopes(found, payload.scp)
  return Object.freeze(found)
}

// Lists are a handful of items, where `includes` beats a Set.
function addScopes(found: string[], claim: unknown): void {
  const list: unknown[] = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : []
  for (const item of list) {
    if (typeof item === 'string' && item !== '' && !found.includes(item)) found.push(item)
  }
}

/**
 * Throws unless `granted` satisfies `required` (`match` `'all'`, the default, or `'any'`). An empty
 * `required` list is always satisfied.
 *
 * @throws InsufficientScopeError carrying the required scopes for the challenge.
 */
export function assertScopes(granted: readonly string[], required: readonly string[], match: ScopeMatch = 'all'): void {
  if (match !== 'all' && match !== 'any') throw new TypeError('bearer-guard: scope match must be "all" or "any"')
  if (required.length === 0) return
  const ok = match === 'any' ? required.some((scope) => granted.includes(scope)) : required.every((scope) => granted.includes(scope))
  if (!ok) throw new InsufficientScopeError(required)
}
