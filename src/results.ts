import type { VerifiedToken } from './verifier.js'

// Marks every result a verifier produced, with its verifier's realm (or null). Scope checks made
// later (an adapter's `requireScopes`, the decorators) accept only marked results: an object that
// merely looks like one, say one a request body smuggled in, is not proof of a verified token. The
// symbol is private to this module (not `Symbol.for`), and JSON cannot produce symbol keys, so no
// request can forge the mark. A property costs less per token than a WeakMap entry.
const VERIFIED = Symbol('bearer-guard.verified')

type Marked = VerifiedToken & { [VERIFIED]?: string | null }

/** A result, marked as produced by a verifier configured with `realm`. */
export function markedResult(
  token: string,
  header: VerifiedToken['header'],
  payload: VerifiedToken['payload'],
  scopes: readonly string[],
  realm: string | undefined,
): VerifiedToken {
  // A literal with the symbol key costs a tenth of defining the property afterwards.
  const result: Marked = { token, header, payload, scopes, [VERIFIED]: realm ?? null }
  return result
}

/** True when `value` is a result a verifier of this library produced. */
export function isVerifiedResult(value: unknown): value is VerifiedToken {
  return typeof value === 'object' && value !== null && (value as Marked)[VERIFIED] !== undefined
}

/** The realm of the verifier that produced `result`, if it had one. */
export function realmOf(result: VerifiedToken): string | undefined {
  return (result as Marked)[VERIFIED] ?? undefined
}
