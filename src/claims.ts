import { InvalidTokenError } from './errors.js'
import type { JsonObject } from './json.js'

/** Claim rules that depend on the options; times in seconds. */
export interface ClaimsPolicy {
  issuers: readonly string[]
  audiences: ReadonlySet<string> | null
  clockTolerance: number
  maxTokenAge: number | undefined
  /** Claims that must be present, `exp` included. */
  requiredClaims: readonly string[]
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function isAudience(value: unknown): boolean {
  return typeof value === 'string' || (isStringArray(value) && value.length > 0)
}

function claimError(code: ConstructorParameters<typeof InvalidTokenError>[0], message: string): InvalidTokenError {
  return new InvalidTokenError(code, message)
}

function wrongType(name: string): InvalidTokenError {
  return claimError('claim_invalid', `the ${name} claim has the wrong type`)
}

function hasAudience(aud: unknown, audiences: ReadonlySet<string>): boolean {
  if (typeof aud === 'string') return audiences.has(aud)
  return Array.isArray(aud) && aud.some((item) => typeof item === 'string' && audiences.has(item))
}

/**
 * Checks a verified token's claims: presence of required claims, JSON types of registered claims,
 * then `exp`, `nbf`, `iat` (and age) against `nowSeconds` with the clock tolerance, `iss` and `aud`.
 * Messages name the claim, never its value.
 *
 * @throws InvalidTokenError with a claim-specific code.
 */
export function checkClaims(payload: JsonObject, policy: ClaimsPolicy, nowSeconds: number): void {
  for (const name of policy.requiredClaims) {
    if (payload[name] === undefined || payload[name] === null) throw claimError('claim_missing', `the ${name} claim is missing`)
  }
  // JSON types of the registered claims (RFC 7519 §4.1, RFC 9068 §2.2, RFC 8693 §4.2), read by name.
  const { iss, sub, aud, exp, nbf, iat, jti, client_id: clientId, scope, scp } = payload
  if (iss !== undefined && typeof iss !== 'string') throw wrongType('iss')
  if (sub !== undefined && typeof sub !== 'string') throw wrongType('sub')
  if (aud !== undefined && !isAudience(aud)) throw wrongType('aud')
  if (exp !== undefined && !isFiniteNumber(exp)) throw wrongType('exp')
  if (nbf !== undefined && !isFiniteNumber(nbf)) throw wrongType('nbf')
  if (iat !== undefined && !isFiniteNumber(iat)) throw wrongType('iat')
  if (jti !== undefined && typeof jti !== 'string') throw wrongType('jti')
  if (clientId !== undefined && typeof clientId !== 'string') throw wrongType('client_id')
  if (scope !== undefined && typeof scope !== 'string') throw wrongType('scope')
  if (scp !== undefined && typeof scp !== 'string' && !isStringArray(scp)) throw wrongType('scp')
  const tolerance = policy.clockTolerance
  // `exp` is always among the required claims, so it is a finite number here.
  if (nowSeconds - tolerance >= (exp as number)) throw claimError('token_expired', 'the token has expired (exp claim)')
  if (nbf !== undefined && nbf > nowSeconds + tolerance) throw claimError('token_not_yet_valid', 'the token is not valid yet (nbf claim)')
  if (iat !== undefined && iat > nowSeconds + tolerance) throw claimError('token_issued_in_future', 'the token was issued in the future (iat claim)')
  if (policy.maxTokenAge !== undefined && nowSeconds - tolerance - (iat as number) > policy.maxTokenAge) {
    throw claimError('token_too_old', 'the token is older than allowed (iat claim)')
  }
  if (iss === undefined || !policy.issuers.includes(iss)) throw claimError('issuer_mismatch', 'the token comes from an unexpected issuer (iss claim)')
  if (policy.audiences !== null && !hasAudience(aud, policy.audiences)) {
    throw claimError('audience_mismatch', 'the token is not meant for this audience (aud claim)')
  }
}
