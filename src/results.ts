import type { JsonObject } from './json.js'
import { grantedScopes } from './scopes.js'
import type { VerifiedToken } from './verifier.js'

/**
 * What a verifier returns for a token it accepted. Scope checks made later (an adapter's
 * `requireScopes`, the decorators) accept only instances made here: an object that merely looks
 * like one, say a copy or one a request body smuggled in, is no proof of a verified token. The
 * private field cannot be forged or copied, and `#realm in value` checks it without a lookup.
 *
 * `scopes` is read from the claims on first use and then kept, so a token whose scopes nobody asks
 * for never pays for splitting them.
 */
class VerifiedResult implements VerifiedToken {
  readonly #realm: string | undefined
  // The scope claims as verified, so that later changes to `payload` cannot change the scopes.
  readonly #scopeClaims: JsonObject
  #scopes: readonly string[] | undefined

  constructor(
    readonly token: string,
    readonly header: VerifiedToken['header'],
    readonly payload: VerifiedToken['payload'],
    realm: string | undefined,
  ) {
    this.#realm = realm
    const { scope, scp } = payload
    this.#scopeClaims = { scope, scp: Array.isArray(scp) ? [...(scp as unknown[])] : scp }
  }

  get scopes(): readonly string[] {
    this.#scopes ??= grantedScopes(this.#scopeClaims)
    return this.#scopes
  }

  /** The same members as before results were class instances, `scopes` included. */
  toJSON(): VerifiedToken {
    return { token: this.token, header: this.header, payload: this.payload, scopes: this.scopes }
  }

  /** What `console.log` and `util.inspect` show: the members of {@link toJSON}. */
  [Symbol.for('nodejs.util.inspect.custom')](_depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
    return `VerifiedToken ${inspect(this.toJSON(), options)}`
  }

  static isVerified(value: unknown): value is VerifiedResult {
    return typeof value === 'object' && value !== null && #realm in value
  }

  static realmOf(result: VerifiedResult): string | undefined {
    return result.#realm
  }
}

/** A result for a verified token, from a verifier configured with `realm`. */
export function verifiedResult(
  token: string,
  header: VerifiedToken['header'],
  payload: VerifiedToken['payload'],
  realm: string | undefined,
): VerifiedToken {
  return new VerifiedResult(token, header, payload, realm)
}

/** True when `value` is a result a verifier of this library produced (not a copy of one). */
export function isVerifiedResult(value: unknown): value is VerifiedToken {
  return VerifiedResult.isVerified(value)
}

/** The realm of the verifier that produced `result`, if it had one. */
export function realmOf(result: VerifiedToken): string | undefined {
  return VerifiedResult.isVerified(result) ? VerifiedResult.realmOf(result) : undefined
}
