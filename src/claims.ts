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

type JsonType = 'string' | 'number' | 'audience' | 'string_or_strings'

/** JSON types of the registered claims (RFC 7519 §4.1, RFC 9068 §2.2, RFC 8693 §4.2). */
const CLAIM_TYPES: ReadonlyArray<readonly [string, JsonType]> = [
  ['iss', 'string'],
  ['sub', 'string'],
  ['aud', 'audience'],
  ['exp', 'number'],
  ['nbf', 'number'],
  ['iat', 'number'],
  ['jti', 'string'],
  ['client_id', 'string'],
  ['scope', 'string'],
  ['scp', 'string_or_strings'],
]

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}

function hasType(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string'
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    case 'audience':
      return typeof value === 'string' || (isStringArray(value) && value.length > 0)
    case 'string_or_strings':
      return typeof value === 'string' || isStringArray(value)
  }
}

function claimError(code: ConstructorParameters<typeof InvalidTokenError>[0], message: string): InvalidTokenError {
  return new InvalidTokenError(code, message)
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
  for (const [name, type] of CLAIM_TYPES) {
    const value = payload[name]
    if (value !== undefined && !hasType(value, type)) throw claimError('claim_invalid', `the ${name} claim has the wrong type`)
  }
  const { exp, nbf, iat, iss, aud } = payload as { exp: number; nbf?: number; iat?: number; iss?: string; aud?: unknown }
  const tolerance = policy.clockTolerance
  if (nowSeconds - tolerance >= exp) throw claimError('token_expired', 'the token has expired (exp claim)')
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
