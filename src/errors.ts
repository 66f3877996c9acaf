import { buildChallenge, type ChallengeParams } from './challenge.js'

/** The `error` values of RFC 6750 §3.1, or `null` for a request that carried no credentials at all. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope'

/**
 * Stable, fine-grained reason of a failure, for logs, metrics and `switch` statements. Never changes
 * meaning between minor versions. The README's error table maps each one to its class and status.
 */
export type ErrorCode =
  // 401, no error attribute
  | 'credentials_missing'
  // 400 invalid_request
  | 'credentials_malformed'
  | 'credentials_duplicated'
  // 401 invalid_token: shape of the token
  | 'token_too_large'
  | 'token_malformed'
  | 'token_unsupported_format'
  // 401 invalid_token: JOSE header
  | 'header_invalid'
  | 'algorithm_not_allowed'
  | 'type_not_allowed'
  // 401 invalid_token: keys and signature
  | 'key_not_found'
  | 'key_unusable'
  | 'key_set_unavailable'
  | 'signature_invalid'
  // 401 invalid_token: claims
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_issued_in_future'
  | 'token_too_old'
  | 'issuer_mismatch'
  | 'audience_mismatch'
  | 'claim_missing'
  | 'claim_invalid'
  // 403 insufficient_scope
  | 'scope_insufficient'

// Marks bearer-guard errors across copies of the library (an app that both imports the ESM build
// and requires the CommonJS one holds two sets of classes, and `instanceof` fails between them).
const BRAND = Symbol.for('bearer-guard.error')

/** Options shared by every bearer-guard error. */
export interface BearerErrorOptions {
  /** The underlying error, kept for logs; never shown to the client. */
  cause?: unknown
  /** `realm` of the challenge. Default: none. */
  realm?: string | undefined
}

/**
 * Base class of every failure that bearer-guard reports about a request or a token.
 *
 * Each instance carries what an HTTP layer needs to answer (`status`, `wwwAuthenticate`, `headers`)
 * and what a log needs (`code`, `cause`). `message` is a fixed, lower-case sentence: it never
 * contains the token or any claim value, so it is safe to log and to send.
 */
export abstract class BearerError extends Error {
  override readonly name: string = 'BearerError'
  /** HTTP status to answer with: 400, 401 or 403 (RFC 6750 §3.1). */
  abstract readonly status: 400 | 401 | 403
  /** RFC 6750 `error` attribute, or `null` when the request carried no credentials. */
  abstract readonly error: BearerErrorCode | null
  /** Fine-grained, stable reason. */
  readonly code: ErrorCode
  /**
   * Always `true`: the message is a fixed sentence that reveals nothing the `WWW-Authenticate`
   * header does not, so frameworks that honour `expose` (Koa, http-errors) may send it.
   */
  readonly expose = true
  /** `realm` of the challenge; the verifier sets it from its `realm` option. */
  realm: string | undefined

  protected constructor(code: ErrorCode, message: string, options: BearerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    Object.defineProperty(this, BRAND, { value: true })
    this.code = code
    this.realm = options.realm
  }

  /** Extra challenge parameters of a subclass (e.g. `scope`). */
  protected challengeParams(): ChallengeParams {
    return {}
  }

  /** A ready `WWW-Authenticate` header value for this failure (RFC 6750 §3). */
  get wwwAuthenticate(): string {
    return buildChallenge({
      realm: this.realm,
      error: this.error ?? undefined,
      errorDescription: this.error === null ? undefined : this.message,
      ...this.challengeParams(),
    })
  }

  /** Response headers to send with `status`: `{ 'WWW-Authenticate': … }`. */
  get headers(): Record<string, string> {
    return { 'WWW-Authenticate': this.wwwAuthenticate }
  }
}

/** 401 without an `error` attribute: the request had no bearer credentials (RFC 6750 §3.1). */
export class MissingTokenError extends BearerError {
  override readonly name = 'MissingTokenError'
  readonly status = 401 as const
  readonly error = null
  constructor(options: BearerErrorOptions = {}) {
    super('credentials_missing', 'no bearer token in the request', options)
  }
}

/** 400 `invalid_request`: malformed `Authorization` header or credentials sent more than once. */
export class InvalidRequestError extends BearerError {
  override readonly name = 'InvalidRequestError'
  readonly status = 400 as const
  readonly error = 'invalid_request' as const
  constructor(code: 'credentials_malformed' | 'credentials_duplicated', message: string, options: BearerErrorOptions = {}) {
    super(code, message, options)
  }
}

/** 401 `invalid_token`: the token is malformed, expired, badly signed, or not meant for this API. */
export class InvalidTokenError extends BearerError {
  override readonly name = 'InvalidTokenError'
  readonly status = 401 as const
  readonly error = 'invalid_token' as const
  constructor(code: InvalidTokenCode, message: string, options: BearerErrorOptions = {}) {
    super(code, message, options)
  }
}

/** The codes an {@link InvalidTokenError} can carry. */
export type InvalidTokenCode = Exclude<
  ErrorCode,
  'credentials_missing' | 'credentials_malformed' | 'credentials_duplicated' | 'scope_insufficient'
>

/** 403 `insufficient_scope`: the token is valid but lacks a scope the resource requires. */
export class InsufficientScopeError extends BearerError {
  override readonly name = 'InsufficientScopeError'
  readonly status = 403 as const
  readonly error = 'insufficient_scope' as const
  /** The scopes the resource requires, as sent in the challenge's `scope` attribute. */
  readonly requiredScopes: readonly string[]
  constructor(requiredScopes: readonly string[], options: BearerErrorOptions = {}) {
    super('scope_insufficient', 'the token lacks a required scope', options)
    this.requiredScopes = requiredScopes
  }
  protected override challengeParams(): ChallengeParams {
    return { scope: this.requiredScopes.join(' ') }
  }
}

/**
 * True when `value` is any bearer-guard request or token error, even one thrown by another copy of
 * the library (ESM and CommonJS builds loaded side by side). Prefer it to `instanceof BearerError`.
 */
export function isBearerError(value: unknown): value is BearerError {
  return value instanceof BearerError || (typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true)
}
