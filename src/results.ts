import type { VerifiedToken } from './verifier.js'

// Every result a verifier produced, with its verifier's realm (or null). Scope checks made later
// (an adapter's `requireScopes`, the decorators) accept only these: an object that merely looks
// like a result, say one a request body smuggled in, is not proof of a verified token. Held
// weakly: no result is kept alive by it.
const results = new WeakMap<object, string | null>()

/** Records `result` as produced by a verifier configured with `realm`. */
export function recordResult(result: VerifiedToken, realm: string | undefined): void {
  results.set(result, realm ?? null)
}

/** True when `value` is a result a verifier of this library produced. */
export function isVerifiedResult(value: unknown): value is VerifiedToken {
  return typeof value === 'object' && value !== null && results.has(value)
}

/** The realm of the verifier that produced `result`, if it had one. */
export function realmOf(result: VerifiedToken): string | undefined {
  return results.get(result) ?? undefined
}
