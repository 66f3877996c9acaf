import { isAlgorithm, type Algorithm } from './algorithms.js'
import { InvalidTokenError } from './errors.js'
import type { JsonObject } from './json.js'

/** What the verifier takes from a JOSE header it accepted. */
export interface AcceptedHeader {
  alg: Algorithm
  kid: string | undefined
}

/** Header rules that depend on the options. */
export interface HeaderPolicy {
  algorithms: ReadonlySet<Algorithm>
  /** RFC 9068 strict mode: `typ` must be `at+jwt`. */
  strictAccessTokenType: boolean
}

function invalidHeader(message: string): InvalidTokenError {
  return new InvalidTokenError('header_invalid', message)
}

/** `typ` without an `application/` prefix, lower-cased (RFC 7515 §4.1.9: media types compare case-insensitively). */
function normalizedType(typ: string): string {
  const lower = typ.toLowerCase()
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower
}

function checkType(typ: unknown, strict: boolean): void {
  if (typ === undefined) {
    if (strict) throw new InvalidTokenError('type_not_allowed', 'the token type must be at+jwt')
    return
  }
  if (typeof typ !== 'string') throw invalidHeader('the typ header is not a string')
  const type = normalizedType(typ)
  if (type === 'at+jwt' || (!strict && type === 'jwt')) return
  throw new InvalidTokenError('type_not_allowed', strict ? 'the token type must be at+jwt' : 'the token type is not a jwt access token')
}

/**
 * Checks a JOSE header against the policy and returns its `alg` and `kid`. Key-carrying members
 * (`jwk`, `jku`, `x5u`, `x5c`) are never read: keys come only from the configured key source.
 *
 * @throws InvalidTokenError `algorithm_not_allowed`, `type_not_allowed` or `header_invalid`.
 */
export function checkHeader(header: JsonObject, policy: HeaderPolicy): AcceptedHeader {
  const { alg, kid, crit, b64, typ } = header
  if (!isAlgorithm(alg) || !policy.algorithms.has(alg)) {
    throw new InvalidTokenError('algorithm_not_allowed', 'the token algorithm is not allowed')
  }
  // RFC 7515 §4.1.11: we implement no extension, so any critical one makes the token unusable.
  if (crit !== undefined) throw invalidHeader('the token uses critical header extensions, which are not supported')
  // RFC 7797: an unencoded payload is not a JWT.
  if (b64 !== undefined && b64 !== true) throw invalidHeader('unencoded payloads (b64) are not supported')
  if (kid !== undefined && typeof kid !== 'string') throw invalidHeader('the kid header is not a string')
  checkType(typ, policy.strictAccessTokenType)
  return { alg, kid }
}
