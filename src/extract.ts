import { InvalidRequestError, MissingTokenError } from './errors.js'
import type { TokenLocation } from './options.js'

/** Header values as Node gives them (`req.headers` or `req.headersDistinct`), or a Fetch `Headers`. */
export type HeadersLike = Headers | Readonly<Record<string, string | readonly string[] | undefined>>

/** The parts of an HTTP request bearer-guard reads. Any framework's request fits. */
export interface RequestLike {
  /** HTTP method; needed for the form-body location (never with GET or HEAD). */
  method?: string | undefined
  /** Request target, e.g. `/users?x=1`; read only for the query location. */
  url?: string | undefined
  /**
   * Request headers, read when `rawHeaders` is not given. Plain Node `req.headers` keeps only the
   * first of repeated `Authorization` headers, so a duplicate goes unseen there: prefer
   * `rawHeaders`, or pass `req.headersDistinct`.
   */
  headers?: HeadersLike | undefined
  /**
   * Node's `req.rawHeaders` (names and values, alternating, as received). When given, headers are
   * read from here instead of `headers`: every repeated `Authorization` header shows, and Node need
   * not build its `headers` objects.
   */
  rawHeaders?: readonly string[] | undefined
  /** The parsed body, for the form-body location (an `application/x-www-form-urlencoded` body). */
  body?: unknown
}

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
const BEARER_CREDENTIALS = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i
// The scheme is Bearer when the name ends there; a tab after it is malformed Bearer credentials.
const BEARER_SCHEME = /^Bearer(?:[ \t]|$)/i
// The Bearer scheme followed by any white space (or nothing), once the value is trimmed of any
// white space: what is meant as Bearer credentials, however garbled.
const BEARER_MEANT = /^Bearer(?:\s|$)/i
// Bearer credentials following a comma, as in "Basic x, Bearer y": two Authorization headers joined
// into one value (a Fetch `Headers` does so, and so may a proxy).
const BEARER_AFTER_COMMA = /,\s*Bearer(?:\s|$)/i
// A quoted-string (RFC 9110 §5.6.4), where other schemes' parameters may hold ", Bearer".
const QUOTED_STRING = /"(?:[^"\\]|\\.)*"/g
const SCHEME_LENGTH = 'Bearer'.length
const SPACE = 0x20
const TAB = 0x09

/**
 * How strictly {@link findToken} reads the `Authorization` header's token. `'checked'`: its
 * characters must be a b64token (RFC 6750 §2.1), else 400. `'deferred'`: the characters are not
 * scanned; for a caller that verifies the token at once (a JWS can only verify if made of base64url
 * characters, a subset of b64token) and, on any failure, reads the request again `'checked'` to
 * tell a malformed request (400) from a bad token (401).
 */
export type CredentialsGrammar = 'checked' | 'deferred'

/** The spelling a plain header record may use instead of Node's lower case. */
const TITLE_CASE: Readonly<Record<string, string>> = { authorization: 'Authorization', 'content-type': 'Content-Type' }

function listOf(value: string | readonly string[] | undefined): readonly string[] {
  if (value === undefined) return []
  return typeof value === 'string' ? [value] : value
}

/** Values of header `name` (lower case) in Node's `rawHeaders`, in any letter case. */
function rawHeaderValues(rawHeaders: readonly string[], name: 'authorization' | 'content-type'): string[] {
  const values: string[] = []
  const titled = TITLE_CASE[name]
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const candidate: unknown = rawHeaders[index]
    const value: unknown = rawHeaders[index + 1]
    if (typeof candidate !== 'string' || typeof value !== 'string' || candidate.length !== name.length) continue
    // The two usual spellings first: comparing them allocates nothing.
    if (candidate === name || candidate === titled || candidate.toLowerCase() === name) values.push(value)
  }
  return values
}

function headerValues(request: RequestLike, name: 'authorization' | 'content-type'): readonly string[] {
  if (Array.isArray(request.rawHeaders)) return rawHeaderValues(request.rawHeaders, name)
  const headers = request.headers
  if (headers === undefined) return []
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    const value = (headers as Headers).get(name)
    return value === null ? [] : [value]
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>
  const lower = record[name]
  const titled = record[TITLE_CASE[name] as string]
  // Both spellings present are two headers, unless it is one value seen through both names.
  if (titled === undefined || titled === lower) return listOf(lower)
  return [...listOf(lower), ...listOf(titled)]
}

function duplicated(): InvalidRequestError {
  return new InvalidRequestError('credentials_duplicated', 'the request carries more than one access token')
}

/**
 * `value` without leading and trailing optional white space (RFC 9110 §5.6.3: spaces and tabs
 * only; `String.prototype.trim` would also drop characters such as U+00A0 or U+FEFF, which belong
 * to the value).
 */
function trimOptionalWhiteSpace(value: string): string {
  let start = 0
  let end = value.length
  while (start < end && (value.charCodeAt(start) === SPACE || value.charCodeAt(start) === TAB)) start++
  while (end > start && (value.charCodeAt(end - 1) === SPACE || value.charCodeAt(end - 1) === TAB)) end--
  return start === 0 && end === value.length ? value : value.slice(start, end)
}

function malformedCredentials(): InvalidRequestError {
  return new InvalidRequestError('credentials_malformed', 'the authorization header is not valid bearer credentials')
}

function fromAuthorizationHeader(request: RequestLike, grammar: CredentialsGrammar): string | undefined {
  const values = headerValues(request, 'authorization')
  if (values.length > 1) throw duplicated()
  const first = values[0]
  if (first === undefined) return undefined
  // Bearer credentials after a comma are a second header joined to the first (a b64token has no comma).
  if (first.includes(',') && BEARER_AFTER_COMMA.test(first.replace(QUOTED_STRING, '""'))) throw duplicated()
  const value = trimOptionalWhiteSpace(first)
  if (!BEARER_SCHEME.test(value)) {
    // Bearer credentials behind, or followed by, other white space (`\nBearer …`, `Bearer\u00a0…`)
    // are malformed, not absent.
    if (BEARER_MEANT.test(first.trim())) throw malformedCredentials()
    return undefined
  }
  if (grammar === 'checked') {
    const match = BEARER_CREDENTIALS.exec(value)
    if (match === null) throw malformedCredentials()
    return match[1]
  }
  let start = SCHEME_LENGTH
  while (value.charCodeAt(start) === SPACE) start++
  // No space after the scheme (a tab), or nothing after the spaces.
  if (start === SCHEME_LENGTH || start === value.length) throw malformedCredentials()
  return value.slice(start)
}

/** What a location without any `access_token` yields (shared, never changed). */
const NONE: readonly string[] = Object.freeze([])

function fromQuery(request: RequestLike): readonly string[] {
  const url = request.url
  // Without a literal `access_token` or a `%`, no parameter name can decode to `access_token`.
  if (url === undefined || (!url.includes('access_token') && !url.includes('%'))) return NONE
  const query = url.indexOf('?')
  return query === -1 ? NONE : new URLSearchParams(url.slice(query + 1)).getAll('access_token')
}

function fromBody(request: RequestLike): readonly string[] {
  const method = request.method?.toUpperCase()
  if (method === undefined || method === 'GET' || method === 'HEAD') return NONE
  const contentType = headerValues(request, 'content-type')[0] ?? ''
  if (!/^application\/x-www-form-urlencoded\s*(?:;|$)/i.test(contentType)) return NONE
  const body = request.body
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, 'access_token')) return NONE
  const value: unknown = (body as Record<string, unknown>).access_token
  // A body parser turns a repeated parameter into an array, and `access_token[x]=…` into an object.
  const values: unknown[] = Array.isArray(value) ? value : [value]
  if (!values.every((item): item is string => typeof item === 'string')) {
    throw new InvalidRequestError('credentials_malformed', 'the access_token parameter is not a string')
  }
  return values
}

/**
 * Finds the bearer token of a request (RFC 6750 §2) in the enabled `locations`.
 *
 * - No bearer credentials anywhere (or another scheme, such as Basic) → {@link MissingTokenError}.
 * - A malformed `Bearer` header → {@link InvalidRequestError} `credentials_malformed`.
 * - Credentials in more than one place, or a repeated header or parameter, whether or not that
 *   place is enabled → {@link InvalidRequestError} `credentials_duplicated` (RFC 6750 §3.1).
 */
export function extractToken(request: RequestLike, locations: ReadonlySet<TokenLocation>): string {
  return findToken(request, locations, 'checked')
}

/** {@link extractToken}, with a choice of how strictly the header's characters are checked. */
export function findToken(request: RequestLike, locations: ReadonlySet<TokenLocation>, grammar: CredentialsGrammar): string {
  const header = fromAuthorizationHeader(request, grammar)
  const query = fromQuery(request)
  const body = fromBody(request)
  const count = (header === undefined ? 0 : 1) + query.length + body.length
  if (count > 1) throw duplicated()
  if (header !== undefined) {
    if (!locations.has('header')) throw new MissingTokenError()
    return header
  }
  const location: TokenLocation = query.length === 1 ? 'query' : 'body'
  const token = location === 'query' ? query[0] : body[0]
  if (token === undefined || !locations.has(location)) throw new MissingTokenError()
  if (token === '') throw new InvalidRequestError('credentials_malformed', 'the access_token parameter is empty')
  return token
}
