import { createSecretKey, KeyObject } from 'node:crypto'
import {
  algorithmSpec,
  DEFAULT_ALGORITHMS,
  HMAC_ALGORITHMS,
  isAlgorithm,
  isHmacAlgorithm,
  type Algorithm,
} from './algorithms.js'
import { MAX_JSON_DEPTH } from './compact.js'
import type { FetchFunction } from './http.js'
import { screenJwk } from './keys.js'
import { isPlainHttpRemoteUrl, parseFetchableUrl } from './urls.js'

/** Where bearer-guard looks for the access token in a request (RFC 6750 §2). */
export type TokenLocation = 'header' | 'body' | 'query'

/** A JWK Set document (RFC 7517 §5). */
export interface JsonWebKeySet {
  keys: readonly object[]
}

/**
 * Options of {@link createVerifier}. Only `issuer` and `audience` are required; every other
 * option has a safe default. Wrong values throw a `TypeError` naming the option.
 */
export interface VerifierOptions {
  /**
   * The issuer identifier(s) to accept, compared exactly with the `iss` claim. With neither `jwks`
   * nor `jwksUri`, keys are found through the issuer's metadata (OpenID Connect Discovery, then RFC
   * 8414), which must name the same issuer. Must be `https:` (or `http:` on a loopback host).
   */
  issuer: string | readonly string[]
  /**
   * The audience(s) this API answers to; the token's `aud` must contain at least one. Required.
   * `null` switches the audience check off: only do that if the issuer mints tokens for this API
   * alone, since otherwise a token meant for another API would be accepted here.
   */
  audience: string | readonly string[] | null
  /** URL of the JWK Set to fetch keys from, instead of discovering it. `https:` or loopback `http:`. */
  jwksUri?: string
  /** A fixed JWK Set; nothing is fetched. Exclusive with `jwksUri`. */
  jwks?: JsonWebKeySet
  /**
   * Shared secret for HS256/HS384/HS512 tokens. HMAC algorithms are accepted only when a secret is
   * given, and only those the secret is long enough for (32, 48, 64 bytes, RFC 7518 §3.2). Keys from
   * a JWK Set are never used for HMAC. Default: none.
   */
  secret?: string | Uint8Array | KeyObject
  /**
   * Allowed `alg` values, case-sensitive. Default: RS256/384/512, PS256/384/512, ES256/384/512 and
   * EdDSA, plus the HS algorithms the `secret` is long enough for when one is given. `none` is never
   * allowed.
   */
  algorithms?: readonly Algorithm[]
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. Default 5; from 0 to 300. */
  clockTolerance?: number
  /** Reject tokens whose `iat` is older than this, in seconds; makes `iat` required. Default: no limit. */
  maxTokenAge?: number
  /** Claims that must be present (`exp` always is). Registered claims must also have their JSON type. */
  requiredClaims?: readonly string[]
  /**
   * `'at+jwt'`: RFC 9068 strict mode — header `typ` must be `at+jwt` (or `application/at+jwt`) and
   * `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti` are required. Default (unset): `typ` may be
   * absent, but an explicit `typ` other than `JWT` or `at+jwt` is rejected (it is another kind of token).
   */
  tokenType?: 'at+jwt'
  /** Longest token accepted, in characters; checked before anything is decoded. Default 8192; 512 to 65536. */
  maxTokenLength?: number
  /** Deepest nesting of objects and arrays accepted in the header and the claims. Default 32; 2 to 64. */
  maxJsonDepth?: number
  /** Where `authenticate` looks for the token. Default `['header']`. RFC 6750 advises against `'query'`. */
  tokenLocations?: readonly TokenLocation[]
  /** `realm` attribute of every `WWW-Authenticate` challenge. Default: none. */
  realm?: string
  /**
   * Longest a fetched JWK Set counts as fresh, in ms, and how long when the response sets no
   * `Cache-Control: max-age`. Default 600000 (10 min); 1000 to 86400000.
   */
  jwksMaxAgeMs?: number
  /**
   * Shortest freshness granted to a fetched JWK Set, in ms, however short its `Cache-Control:
   * max-age` (a set is fresh for that `max-age`, bounded to `[jwksMinAgeMs, jwksMaxAgeMs]`).
   * Default 60000 (1 min), or `jwksMaxAgeMs` if that is smaller; 0 to `jwksMaxAgeMs`.
   */
  jwksMinAgeMs?: number
  /** At most one refetch for an unknown `kid` per this window, in ms. Default 30000; 0 to 3600000. */
  jwksCooldownMs?: number
  /**
   * Past its max age, how long the last good JWK Set keeps serving while the provider fails, in ms.
   * Default 3600000 (1 h); 0 to 86400000.
   */
  jwksStaleMaxAgeMs?: number
  /** Most keys accepted in one JWK Set. Default 100; 1 to 1000. */
  jwksMaxKeys?: number
  /** Deadline of one metadata or JWK Set request, body included, in ms. Default 5000; 100 to 60000. */
  fetchTimeoutMs?: number
  /** Largest metadata or JWK Set response accepted, in bytes. Default 262144 (256 KiB); 1024 to 10485760. */
  maxResponseBytes?: number
  /** The `fetch` used for metadata and keys. Default: the global `fetch`. Redirects are never followed. */
  fetch?: FetchFunction
  /**
   * Keep up to this many verified tokens and answer a repeated token without verifying it again.
   * Default 0 (off); 0 to 1000000. An entry is served only until the token's `exp` (and `maxTokenAge`),
   * only while the key that verified it is still published, and failures are never cached. Cached
   * results are frozen. Worth enabling when clients reuse each token for many requests and
   * signature checks dominate CPU; each entry holds the token and its claims (about 1–3 KB).
   */
  tokenCacheSize?: number
  /**
   * Check RS/PS/ES/EdDSA signatures on libuv's thread pool (`UV_THREADPOOL_SIZE`, default 4 threads)
   * instead of the event loop. Under concurrent load on a machine with several cores, the event loop
   * keeps serving requests while other cores verify; a single request waits a few microseconds
   * more for the hand-over. Pays for ES256 and EdDSA; for RS and PS the hand-over costs about as much as
   * the check itself. Default false.
   */
  offloadSignatureChecks?: boolean
}

/** Options after validation, with every default filled in. */
export interface ResolvedOptions {
  issuers: readonly string[]
  audiences: ReadonlySet<string> | null
  jwksUri: string | undefined
  jwks: JsonWebKeySet | undefined
  secretKey: KeyObject | undefined
  algorithms: ReadonlySet<Algorithm>
  clockTolerance: number
  maxTokenAge: number | undefined
  requiredClaims: readonly string[]
  strictAccessTokenType: boolean
  maxTokenLength: number
  maxJsonDepth: number
  tokenLocations: ReadonlySet<TokenLocation>
  realm: string | undefined
  jwksMaxAgeMs: number
  jwksMinAgeMs: number
  jwksCooldownMs: number
  jwksStaleMaxAgeMs: number
  jwksMaxKeys: number
  fetchTimeoutMs: number
  maxResponseBytes: number
  fetch: FetchFunction
  tokenCacheSize: number
  offloadSignatureChecks: boolean
}

/** Claims RFC 9068 §2.2 makes mandatory in a JWT access token. */
export const RFC9068_REQUIRED_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'] as const

const KNOWN_OPTIONS: ReadonlySet<string> = new Set<keyof VerifierOptions>([
  'issuer', 'audience', 'jwksUri', 'jwks', 'secret', 'algorithms', 'clockTolerance', 'maxTokenAge', 'requiredClaims',
  'tokenType', 'maxTokenLength', 'maxJsonDepth', 'tokenLocations', 'realm', 'jwksMaxAgeMs', 'jwksMinAgeMs', 'jwksCooldownMs', 'jwksStaleMaxAgeMs',
  'jwksMaxKeys', 'fetchTimeoutMs', 'maxResponseBytes', 'fetch', 'tokenCacheSize',
  'offloadSignatureChecks',
])

function fail(option: string, requirement: string): never {
  throw new TypeError(`bearer-guard: option "${option}" ${requirement}`)
}

function boundedNumber(option: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    fail(option, `must be a number from ${min} to ${max}`)
  }
  return value
}

function boundedInteger(option: string, value: unknown, fallback: number, min: number, max: number): number {
  const number = boundedNumber(option, value, fallback, min, max)
  if (!Number.isInteger(number)) fail(option, 'must be a whole number')
  return number
}

function stringList(option: string, value: unknown): string[] {
  const list: unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? value : fail(option, 'must be a string or an array of strings')
  if (list.length === 0) fail(option, 'must not be empty')
  if (!list.every((item) => typeof item === 'string' && item.length > 0)) fail(option, 'must contain only non-empty strings')
  return list as string[]
}

function resolveIssuers(value: unknown, discover: boolean): string[] {
  const issuers = stringList('issuer', value)
  for (const issuer of issuers) {
    if (isPlainHttpRemoteUrl(issuer)) fail('issuer', 'must use https (plain http is allowed only on a loopback host)')
    if (discover && parseFetchableUrl(issuer) === undefined) {
      fail('issuer', 'must be an https url when keys are discovered (give jwksUri or jwks otherwise)')
    }
  }
  return issuers
}

function toSecretKey(value: unknown): KeyObject {
  if (value instanceof KeyObject) {
    if (value.type !== 'secret') fail('secret', 'must be a secret key, not an asymmetric one')
    return value
  }
  if (typeof value === 'string') return createSecretKey(Buffer.from(value, 'utf8'))
  if (value instanceof Uint8Array) return createSecretKey(Buffer.from(value))
  return fail('secret', 'must be a string, a Uint8Array or a secret KeyObject')
}

function resolveFlag(option: string, value: unknown): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') fail(option, 'must be true or false')
  return value
}

function resolveSecret(value: unknown): KeyObject | undefined {
  if (value === undefined) return undefined
  const key = toSecretKey(value)
  // RFC 7518 §3.2: HS256 needs 32 bytes. A shorter secret fits no algorithm, even when unused.
  if ((key.symmetricKeySize ?? 0) < 32) fail('secret', 'must be at least 32 bytes long')
  return key
}

function resolveAlgorithms(value: unknown, secretKey: KeyObject | undefined): Set<Algorithm> {
  const secretBytes = secretKey?.symmetricKeySize ?? 0
  const fitsSecret = (alg: Algorithm) => secretBytes >= (algorithmSpec(alg).minSecretBytes ?? Infinity)
  if (value === undefined) {
    const algorithms = new Set<Algorithm>(DEFAULT_ALGORITHMS)
    for (const alg of HMAC_ALGORITHMS) if (fitsSecret(alg)) algorithms.add(alg)
    return algorithms
  }
  if (!Array.isArray(value) || value.length === 0) fail('algorithms', 'must be a non-empty array')
  const algorithms = new Set<Algorithm>()
  for (const alg of value) {
    if (!isAlgorithm(alg)) fail('algorithms', `contains ${JSON.stringify(alg)}, which is not a supported algorithm (never "none")`)
    if (isHmacAlgorithm(alg)) {
      if (secretKey === undefined) fail('algorithms', `contains ${alg}, which needs the "secret" option`)
      if (!fitsSecret(alg)) fail('secret', `is too short for ${alg} (at least ${algorithmSpec(alg).minSecretBytes} bytes)`)
    }
    algorithms.add(alg)
  }
  return algorithms
}

function resolveTokenLocations(value: unknown): Set<TokenLocation> {
  if (value === undefined) return new Set(['header'])
  if (!Array.isArray(value) || value.length === 0) fail('tokenLocations', 'must be a non-empty array')
  for (const location of value) {
    if (location !== 'header' && location !== 'body' && location !== 'query') {
      fail('tokenLocations', 'may contain only "header", "body" and "query"')
    }
  }
  return new Set(value as TokenLocation[])
}

function resolveJwks(value: unknown, algorithms: ReadonlySet<Algorithm>): JsonWebKeySet | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null || !Array.isArray((value as JsonWebKeySet).keys)) {
    fail('jwks', 'must be a JWK Set: an object with a "keys" array')
  }
  const verdicts = (value as JsonWebKeySet).keys.map((member) => screenJwk(member, algorithms))
  if (!verdicts.some((verdict) => typeof verdict !== 'string')) {
    fail('jwks', `has no key usable for verifying signatures (${[...new Set(verdicts)].join(', ') || 'no keys'})`)
  }
  return value as JsonWebKeySet
}

/** Validates options and fills in defaults. @throws TypeError naming the first wrong option. */
export function resolveOptions(options: VerifierOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('bearer-guard: options must be an object')
  // A misspelt option would silently leave a check at its default: refuse unknown names.
  for (const name of Object.keys(options)) if (!KNOWN_OPTIONS.has(name)) fail(name, 'is not a bearer-guard option')
  const secretKey = resolveSecret(options.secret)
  const algorithms = resolveAlgorithms(options.algorithms, secretKey)
  const jwks = resolveJwks(options.jwks, algorithms)
  let jwksUri: string | undefined
  if (options.jwksUri !== undefined) {
    if (jwks !== undefined) fail('jwksUri', 'cannot be combined with "jwks"')
    jwksUri = parseFetchableUrl(options.jwksUri)?.href ?? fail('jwksUri', 'must be an https url (or http on a loopback host)')
  }
  const needsKeySet = [...algorithms].some((alg) => !isHmacAlgorithm(alg))
  const issuers = resolveIssuers(options.issuer, needsKeySet && jwks === undefined && jwksUri === undefined)
  if (options.audience === undefined) {
    fail('audience', 'is required (pass null explicitly to skip the audience check, if the issuer mints tokens for this API only)')
  }
  const audiences = options.audience === null ? null : new Set(stringList('audience', options.audience))
  const tokenType = options.tokenType
  if (tokenType !== undefined && tokenType !== 'at+jwt') fail('tokenType', 'must be "at+jwt" or left unset')
  const maxTokenAge = options.maxTokenAge === undefined ? undefined : boundedNumber('maxTokenAge', options.maxTokenAge, 0, 1, 31_536_000)
  const requiredClaims =
    options.requiredClaims === undefined || (Array.isArray(options.requiredClaims) && options.requiredClaims.length === 0)
      ? []
      : stringList('requiredClaims', options.requiredClaims)
  if (options.realm !== undefined && (typeof options.realm !== 'string' || !/^[\x20-\x7E]*$/.test(options.realm))) {
    fail('realm', 'must be a string of printable ASCII characters')
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') fail('fetch', 'must be a function')
  const fetchFn = options.fetch ?? ((input: string, init: RequestInit) => globalThis.fetch(input, init))
  const jwksMaxAgeMs = boundedInteger('jwksMaxAgeMs', options.jwksMaxAgeMs, 600_000, 1_000, 86_400_000)
  return {
    issuers,
    audiences,
    jwksUri,
    jwks,
    secretKey,
    algorithms,
    clockTolerance: boundedNumber('clockTolerance', options.clockTolerance, 5, 0, 300),
    maxTokenAge,
    requiredClaims,
    strictAccessTokenType: tokenType === 'at+jwt',
    maxTokenLength: boundedInteger('maxTokenLength', options.maxTokenLength, 8192, 512, 65_536),
    maxJsonDepth: boundedInteger('maxJsonDepth', options.maxJsonDepth, MAX_JSON_DEPTH, 2, 64),
    tokenLocations: resolveTokenLocations(options.tokenLocations),
    realm: options.realm,
    jwksMaxAgeMs,
    jwksMinAgeMs: boundedInteger('jwksMinAgeMs', options.jwksMinAgeMs, Math.min(60_000, jwksMaxAgeMs), 0, jwksMaxAgeMs),
    jwksCooldownMs: boundedInteger('jwksCooldownMs', options.jwksCooldownMs, 30_000, 0, 3_600_000),
    jwksStaleMaxAgeMs: boundedInteger('jwksStaleMaxAgeMs', options.jwksStaleMaxAgeMs, 3_600_000, 0, 86_400_000),
    jwksMaxKeys: boundedInteger('jwksMaxKeys', options.jwksMaxKeys, 100, 1, 1_000),
    fetchTimeoutMs: boundedInteger('fetchTimeoutMs', options.fetchTimeoutMs, 5_000, 100, 60_000),
    maxResponseBytes: boundedInteger('maxResponseBytes', options.maxResponseBytes, 262_144, 1_024, 10_485_760),
    fetch: fetchFn,
    tokenCacheSize: boundedInteger('tokenCacheSize', options.tokenCacheSize, 0, 0, 1_000_000),
    offloadSignatureChecks: resolveFlag('offloadSignatureChecks', options.offloadSignatureChecks),
  }
}
