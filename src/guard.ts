import { InsufficientScopeError, MissingTokenError } from './errors.js'
import { isVerifiedResult, realmOf } from './results.js'
import type { RequestLike } from './extract.js'
import type { VerifierOptions } from './options.js'
import { assertScopes, type ScopeMatch } from './scopes.js'
import { createVerifier, type VerifiedToken, type Verifier } from './verifier.js'

/** What framework adapters accept: a ready verifier, or options to build one. */
export type VerifierOrOptions = Verifier | VerifierOptions

/** How a guard treats a request without credentials. */
export interface GuardOptions {
  /**
   * `true`: a request without any bearer credentials passes as anonymous (no auth result); a request
   * with a bad token is still rejected, never downgraded to anonymous. Default `false`.
   */
  optional?: boolean
}

function isVerifier(value: VerifierOrOptions): value is Verifier {
  return typeof (value as Verifier).verify === 'function' && typeof (value as Verifier).authenticate === 'function'
}

/** Returns `value` if it is a verifier, else builds one from it as options (throws TypeError on bad options). */
export function toVerifier(value: VerifierOrOptions): Verifier {
  return isVerifier(value) ? value : createVerifier(value)
}

/**
 * Authenticates a request for a guard. Without credentials: rejects with {@link MissingTokenError},
 * or, with `optional`, resolves `undefined`. Any other failure rejects as `authenticate` does.
 */
export function authenticateRequest(
  verifier: Verifier,
  request: RequestLike,
  options: GuardOptions = {},
): Promise<VerifiedToken | undefined> {
  const verified = verifier.authenticate(request)
  if (options.optional !== true) return verified
  return verified.catch((error: unknown) => {
    if (error instanceof MissingTokenError) return undefined
    throw error
  })
}

/**
 * Checks that an authenticated request's token grants `scopes` (`match` `'all'`, the default, or
 * `'any'`).
 *
 * @throws MissingTokenError (401) when the request was not authenticated: no result, an anonymous
 *   request, or an object that was not produced by a verifier (a look-alike proves nothing).
 * @throws InsufficientScopeError (403) when a scope is missing, with the realm of the verifier
 *   that produced `auth`.
 */
export function checkScopes(
  auth: VerifiedToken | null | undefined,
  scopes: readonly string[],
  match: ScopeMatch = 'all',
): asserts auth is VerifiedToken {
  // Only a result a verifier produced counts: a look-alike object proves nothing.
  if (!isVerifiedResult(auth)) throw new MissingTokenError()
  try {
    assertScopes(auth.scopes, scopes, match)
  } catch (error) {
    if (error instanceof InsufficientScopeError) error.realm = realmOf(auth)
    throw error
  }
}

/**
 * Checks a list of scopes a guard is built with: at least one, each a non-empty string.
 *
 * @throws TypeError otherwise, at set-up time, so a guard can never require nothing by mistake.
 */
export function requiredScopeList(scopes: readonly unknown[]): readonly string[] {
  if (scopes.length === 0 || !scopes.every((scope) => typeof scope === 'string' && scope.length > 0)) {
    throw new TypeError('bearer-guard: a scope guard needs at least one non-empty scope')
  }
  return [...(scopes as string[])]
}
