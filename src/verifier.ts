import type { KeyObject } from 'node:crypto'
import { isHmacAlgorithm, verifySignature, verifySignatureOffThread, type Algorithm } from './algorithms.js'
import { checkClaims, type ClaimsPolicy } from './claims.js'
import { agingClock, monotonicMs } from './clocks.js'
import { detachCompactJws, HeaderCache, parseClaims, parseCompactJws, scratchBytesFor, type CompactJws } from './compact.js'
import { discoveryLocator } from './discovery.js'
import { BearerError, InvalidTokenError } from './errors.js'
import { extractToken, findToken, type RequestLike } from './extract.js'
import { checkHeader, type AcceptedHeader, type HeaderPolicy } from './header.js'
import type { JsonObject } from './json.js'
import { KeySetUnavailable, RemoteKeySet, StaticKeySet, type KeySource } from './jwks.js'
import type { VerificationKey } from './keys.js'
import { RFC9068_REQUIRED_CLAIMS, resolveOptions, type ResolvedOptions, type VerifierOptions } from './options.js'
import { verifiedResult } from './results.js'
import { assertScopes, type ScopeMatch } from './scopes.js'
import { VerifiedTokenCache } from './token-cache.js'

/** The protected header of a verified token. */
export interface JwtHeader {
  alg: Algorithm
  kid?: string
  typ?: string
  [member: string]: unknown
}

/** The claims of a verified token. The object has no prototype: nothing inherited can be read. */
export interface JwtPayload {
  iss: string
  exp: number
  aud?: string | string[]
  sub?: string
  iat?: number
  nbf?: number
  jti?: string
  client_id?: string
  scope?: string
  [claim: string]: unknown
}

/**
 * What a successful verification yields. Scope checks made later (`checkScopes`, the adapters'
 * `requireScopes`, the decorators) accept only the object the verifier returned, not a copy.
 */
export interface VerifiedToken {
  /** The token as received. Treat it as a secret: do not log it. */
  readonly token: string
  readonly header: JwtHeader
  readonly payload: JwtPayload
  /** Scopes granted by the `scope` and `scp` claims, without duplicates; read from them on first use. */
  readonly scopes: readonly string[]
}

/** Per-call requirements of {@link Verifier.verify} and {@link Verifier.authenticate}. */
export interface VerifyOptions {
  /** Scopes the token must grant. Default: none. */
  scopes?: readonly string[]
  /** `'all'` (default): every scope in `scopes`; `'any'`: at least one. */
  scopeMatch?: ScopeMatch
}

/** A configured verifier. Create one per API and reuse it: it holds the key caches. */
export interface Verifier {
  /**
   * Verifies a JWT access token: format, header, key, signature, then claims and scopes.
   *
   * @returns the verified token's header, claims and scopes.
   * @throws InvalidTokenError (401) or InsufficientScopeError (403), never anything else for a
   *   bad token.
   */
  verify(token: string, options?: VerifyOptions): Promise<VerifiedToken>
  /**
   * Takes the bearer token from a request (RFC 6750 §2, see `tokenLocations`), then verifies it.
   *
   * @throws MissingTokenError (401 without error code), InvalidRequestError (400), or what
   *   {@link Verifier.verify} throws.
   */
  authenticate(request: RequestLike, options?: VerifyOptions): Promise<VerifiedToken>
}

function lookupError(lookup: Exclude<Awaited<ReturnType<KeySource['select']>>, VerificationKey>): InvalidTokenError {
  if (lookup instanceof KeySetUnavailable) {
    return new InvalidTokenError('key_set_unavailable', 'the signing keys could not be obtained', { cause: lookup.cause })
  }
  if (lookup === 'unknown_kid') return new InvalidTokenError('key_not_found', 'no key matches the token')
  if (lookup === 'ambiguous') return new InvalidTokenError('key_not_found', 'the token names no key and several keys match')
  return new InvalidTokenError('key_unusable', 'the key the token names does not fit its algorithm')
}

/** The configured HMAC secret, shaped like a verification key. */
interface SecretKey {
  readonly keyObject: KeyObject
}

class BearerVerifier implements Verifier {
  private readonly headerPolicy: HeaderPolicy
  private readonly claimsPolicy: ClaimsPolicy
  // Key sources by issuer, or one shared source under '' when keys do not depend on the issuer;
  // at most one per configured issuer.
  private readonly keySources = new Map<string, KeySource>()
  private readonly secretKey: SecretKey | undefined
  private readonly headerCache = new HeaderCache()
  // The last header that passed the header checks, and what they returned. Cached headers are
  // frozen and shared by every token with the same header segment, so the same object always
  // passes the same way: the checks run once per distinct header, not once per token.
  private lastHeader: JsonObject | undefined
  private lastAccepted: AcceptedHeader | undefined
  // Where a token is decoded while it is checked synchronously. Undefined with
  // `offloadSignatureChecks`, whose signature checks outlive the call (Node happens to copy the
  // inputs of an asynchronous check, but nothing here relies on that).
  private readonly scratch: Buffer | undefined
  // True while a token occupies the scratch: a verification started from within that one (say by
  // a custom `fetch` calling back into this verifier) decodes into new buffers instead.
  private scratchBusy = false
  /** True when keys come from each issuer's discovered JWK Set (no `jwks`, no `jwksUri`). */
  private readonly discovered: boolean
  private readonly tokenCache: VerifiedTokenCache | undefined

  constructor(private readonly options: ResolvedOptions) {
    this.headerPolicy = { algorithms: options.algorithms, strictAccessTokenType: options.strictAccessTokenType }
    const required = new Set(['exp', ...options.requiredClaims])
    if (options.strictAccessTokenType) for (const claim of RFC9068_REQUIRED_CLAIMS) required.add(claim)
    if (options.maxTokenAge !== undefined) required.add('iat')
    this.claimsPolicy = {
      issuers: options.issuers,
      audiences: options.audiences,
      clockTolerance: options.clockTolerance,
      maxTokenAge: options.maxTokenAge,
      requiredClaims: [...required],
    }
    this.secretKey = options.secretKey === undefined ? undefined : { keyObject: options.secretKey }
    this.discovered = options.jwks === undefined && options.jwksUri === undefined
    this.tokenCache = options.tokenCacheSize > 0 ? new VerifiedTokenCache(options.tokenCacheSize) : undefined
    this.scratch = options.offloadSignatureChecks ? undefined : Buffer.alloc(scratchBytesFor(options.maxTokenLength))
  }

  // The header's characters are not scanned up front: a token that is not a b64token cannot verify.
  // Whenever extraction or verification fails, the request is read again, strictly, so malformed
  // credentials get the same 400 as from `extractToken` (even where the header is not an enabled
  // location, so optional mode never lets them pass as anonymous).
  authenticate(request: RequestLike, options?: VerifyOptions): Promise<VerifiedToken> {
    let token: string
    try {
      token = findToken(request, this.options.tokenLocations, 'deferred')
    } catch (error) {
      return Promise.reject(this.withRealm(this.malformedRequestOr(request, error)))
    }
    return this.settle(token, options, request)
  }

  verify(token: string, options?: VerifyOptions): Promise<VerifiedToken> {
    return this.settle(token, options, undefined)
  }

  // The hot path stays synchronous while the key is at hand (no await, no extra microtask hops);
  // it only goes asynchronous when keys must be fetched. Failures always reject, never throw.
  // A token that gets as far as a key fetch is made of base64url characters, so only a synchronous
  // failure can come from credentials that are not a b64token.
  private settle(token: string, options: VerifyOptions | undefined, request: RequestLike | undefined): Promise<VerifiedToken> {
    try {
      const result = this.tokenCache?.get(token, Date.now()) ?? this.verifyToken(token)
      if (result instanceof Promise) {
        return result.then((verified) => this.checkScopes(verified, options)).catch((error: unknown) => Promise.reject(this.withRealm(error)))
      }
      return Promise.resolve(this.checkScopes(result, options))
    } catch (error) {
      return Promise.reject(this.withRealm(request === undefined ? error : this.malformedRequestOr(request, error)))
    }
  }

  /**
   * What strict extraction (`extractToken`) says of `request`, if it refuses it (such as 400 for
   * credentials that are not a b64token); else `error`. Runs only on failures.
   */
  private malformedRequestOr(request: RequestLike, error: unknown): unknown {
    try {
      extractToken(request, this.options.tokenLocations)
    } catch (strict) {
      return strict
    }
    return error
  }

  private checkScopes(result: VerifiedToken, options: VerifyOptions | undefined): VerifiedToken {
    if (options?.scopes !== undefined) assertScopes(result.scopes, options.scopes, options.scopeMatch)
    return result
  }

  /** The whole check of one token: format, header, key, signature, claims. */
  private verifyToken(token: string): VerifiedToken | Promise<VerifiedToken> {
    if (this.scratchBusy || this.scratch === undefined) return this.checkToken(token, undefined)
    this.scratchBusy = true
    try {
      return this.checkToken(token, this.scratch)
    } finally {
      this.scratchBusy = false
    }
  }

  /** {@link verifyToken}, decoding into `scratch` when one is given (see `parseCompactJws`). */
  private checkToken(token: string, scratch: Buffer | undefined): VerifiedToken | Promise<VerifiedToken> {
    const jws = parseCompactJws(token, this.options.maxTokenLength, this.options.maxJsonDepth, this.headerCache, scratch)
    const { alg, kid } = this.acceptedHeader(jws.header)
    const payload = parseClaims(jws.payloadBytes, this.options.maxJsonDepth)
    if (isHmacAlgorithm(alg)) return this.checkSignedToken(token, jws, payload, alg, kid, this.secretKey)
    const source = this.keySourceFor(payload.iss)
    const key = source.peek(kid, alg)
    if (key !== undefined) return this.checkSignedToken(token, jws, payload, alg, kid, key)
    // The scratch will hold other tokens by the time the keys arrive.
    const detached = detachCompactJws(jws)
    return source.select(kid, alg).then((lookup) => {
      if (typeof lookup === 'object' && 'keyObject' in lookup) return this.checkSignedToken(token, detached, payload, alg, kid, lookup)
      throw lookupError(lookup)
    })
  }

  private acceptedHeader(header: JsonObject): AcceptedHeader {
    if (header === this.lastHeader && this.lastAccepted !== undefined) return this.lastAccepted
    const accepted = checkHeader(header, this.headerPolicy)
    // Headers from the header cache are always frozen; only an immutable object may be remembered.
    if (Object.isFrozen(header)) {
      this.lastHeader = header
      this.lastAccepted = accepted
    }
    return accepted
  }

  /** Signature (on this thread, or on the thread pool with `offloadSignatureChecks`), then claims. */
  private checkSignedToken(
    token: string,
    jws: CompactJws,
    payload: JsonObject,
    alg: Algorithm,
    kid: string | undefined,
    key: VerificationKey | SecretKey | undefined,
  ): VerifiedToken | Promise<VerifiedToken> {
    if (key === undefined) throw new InvalidTokenError('signature_invalid', 'the token signature is invalid')
    if (this.options.offloadSignatureChecks) {
      return verifySignatureOffThread(alg, jws.signingInput, key.keyObject, jws.signature).then((valid) =>
        this.acceptSigned(valid, token, jws, payload, alg, kid, key),
      )
    }
    return this.acceptSigned(verifySignature(alg, jws.signingInput, key.keyObject, jws.signature), token, jws, payload, alg, kid, key)
  }

  /** After the signature check: refuses a bad signature, checks the claims, builds the result. */
  private acceptSigned(
    validSignature: boolean,
    token: string,
    jws: CompactJws,
    payload: JsonObject,
    alg: Algorithm,
    kid: string | undefined,
    key: VerificationKey | SecretKey,
  ): VerifiedToken {
    if (!validSignature) throw new InvalidTokenError('signature_invalid', 'the token signature is invalid')
    checkClaims(payload, this.claimsPolicy, Date.now() / 1000)
    const result = verifiedResult(token, jws.header as JwtHeader, payload as JwtPayload, this.options.realm)
    if (this.tokenCache !== undefined) this.remember(this.tokenCache, result, key, kid, alg)
    return result
  }

  /** Caches a verified token until its `exp` (or its age limit), while its key stays published. */
  private remember(
    cache: VerifiedTokenCache,
    result: VerifiedToken,
    key: VerificationKey | SecretKey,
    kid: string | undefined,
    alg: Algorithm,
  ): void {
    const { exp, iat } = result.payload
    let expiresAt = exp * 1000
    if (this.options.maxTokenAge !== undefined) expiresAt = Math.min(expiresAt, ((iat as number) + this.options.maxTokenAge) * 1000)
    Object.freeze(result.header)
    Object.freeze(result.payload)
    Object.freeze(result)
    let keyStillCurrent = () => true
    if ('fingerprint' in key) {
      const source = this.keySourceFor(result.payload.iss)
      keyStillCurrent = () => source.peek(kid, alg)?.fingerprint === key.fingerprint
    }
    cache.set(result.token, { result, expiresAt, keyStillCurrent })
  }

  /**
   * The key source for a token. With discovery and several issuers, the (not yet verified) `iss`
   * picks the issuer whose keys must have signed the token; an unknown issuer fetches nothing.
   */
  private keySourceFor(iss: unknown): KeySource {
    const { options, discovered } = this
    const issuer = !discovered ? '' : options.issuers.length === 1 ? options.issuers[0] : iss
    if (typeof issuer !== 'string' || (discovered && !options.issuers.includes(issuer))) {
      throw new InvalidTokenError('issuer_mismatch', 'the token comes from an unexpected issuer (iss claim)')
    }
    let source = this.keySources.get(issuer)
    if (source === undefined) {
      source = this.createKeySource(issuer)
      this.keySources.set(issuer, source)
    }
    return source
  }

  private createKeySource(issuer: string): KeySource {
    const { options } = this
    if (options.jwks !== undefined) return new StaticKeySet(options.jwks, options.algorithms, options.jwksMaxKeys)
    const limits = { timeoutMs: options.fetchTimeoutMs, maxBodyBytes: options.maxResponseBytes }
    const jwksUri = options.jwksUri
    const locate =
      jwksUri !== undefined ? () => Promise.resolve(jwksUri) : discoveryLocator(issuer, options.jwksMaxAgeMs, limits, options.fetch, agingClock())
    return new RemoteKeySet(locate, {
      allowed: options.algorithms,
      maxKeys: options.jwksMaxKeys,
      maxAgeMs: options.jwksMaxAgeMs,
      minAgeMs: options.jwksMinAgeMs,
      cooldownMs: options.jwksCooldownMs,
      staleMaxAgeMs: options.jwksStaleMaxAgeMs,
      limits,
      fetch: options.fetch,
      // Token times (`exp`, `nbf`, `iat`) stay on the wall clock, as the issuer's; these are durations.
      ageClock: agingClock(),
      rateClock: monotonicMs,
    })
  }

  private withRealm(error: unknown): unknown {
    if (error instanceof BearerError && this.options.realm !== undefined) error.realm = this.options.realm
    return error
  }
}

/**
 * Creates a verifier for JWT access tokens (RFC 9068, RFC 6750). Build it once at start-up; it
 * validates the options at once and fetches keys lazily, on the first token that needs them.
 *
 * @example
 * const verifier = createVerifier({ issuer: 'https://idp.example.com/', audience: 'https://api.example.com' })
 * const { payload, scopes } = await verifier.verify(token, { scopes: ['read:users'] })
 *
 * @throws TypeError naming the option, for any invalid option.
 */
export function createVerifier(options: VerifierOptions): Verifier {
  return new BearerVerifier(resolveOptions(options))
}
