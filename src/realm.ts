import type { VerifiedToken } from './verifier.js'

// The realm of the verifier that produced a result, so that a later scope check (in an adapter's
// `requireScopes`, or a decorator) can challenge with the same realm. Held weakly: no result is
// kept alive by it.
const realms = new WeakMap<VerifiedToken, string>()

/** Records that `result` came from a verifier configured with `realm`. */
export function rememberRealm(result: VerifiedToken, realm: string): void {
  realms.set(result, realm)
}

/** The realm of the verifier that produced `result`, if it had one. */
export function realmOf(result: VerifiedToken): string | undefined {
  return realms.get(result)
}
