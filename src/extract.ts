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
   * Request headers. Pass Node's `req.headersDistinct` where you can: plain `req.headers` keeps only
   * the first of repeated `Authorization` headers, so a duplicate cannot be detected.
   */
  headers: HeadersLike
  /** The parsed body, for the form-body location (an `application/x-www-form-urlencoded` body). */
  body?: unknown
}

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
const BEARER_CREDENTIALS = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i
// The scheme is Bearer when the name ends there; a tab after it is malformed Bearer credentials.
const BEARER_SCHEME = /^Bearer(?:[ \t]|$)/i

/** The spelling a plain header record may use instead of Node's lower case. */
const TITLE_CASE: Readonly<Record<string, string>> = { authorization: 'Authorization', 'content-type': 'Content-Type' }

function listOf(value: string | readonly string[] | undefined): readonly string[] {
  if (value === undefined) return []
  return typeof value === 'string' ? [value] : value
}

function headerValues(headers: HeadersLike, name: 'authorization' | 'content-type'): readonly string[] {
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

function fromAuthorizationHeader(request: RequestLike): string | undefined {
  const values = headerValues(request.headers, 'authorization')
  if (values.length > 1) throw duplicated()
  const value = values[0]?.trim()
  if (value === undefined || value === '' || !BEARER_SCHEME.test(value)) return undefined
  const match = BEARER_CREDENTIALS.exec(value)
  if (match === null) throw new InvalidRequestError('credentials_malformed', 'the authorization header is not valid bearer credentials')
  return match[1]
}

function fromQuery(request: RequestLike): string[] {
  const url = request.url
  // Without a literal `access_token` or a `%`, no parameter name can decode to `access_token`.
  if (url === undefined || (!url.includes('access_token') && !url.includes('%'))) return []
  const query = url.indexOf('?')
  return query === -1 ? [] : new URLSearchParams(url.slice(query + 1)).getAll('access_token')
}

function fromBody(request: RequestLike): string[] {
  const method = request.method?.toUpperCase()
  if (method === undefined || method === 'GET' || method === 'HEAD') return []
  const contentType = headerValues(request.headers, 'content-type')[0] ?? ''
  if (!/^application\/x-www-form-urlencoded\s*(?:;|$)/i.test(contentType)) return []
  const body = request.body
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, 'access_token')) return []
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
  const found: { location: TokenLocation; token: string }[] = []
  const header = fromAuthorizationHeader(request)
  if (header !== undefined) found.push({ location: 'header', token: header })
  for (const token of fromQuery(request)) found.push({ location: 'query', token })
  for (const token of fromBody(request)) found.push({ location: 'body', token })
  if (found.length > 1) throw duplicated()
  const only = found[0]
  if (only === undefined || !locations.has(only.location)) throw new MissingTokenError()
  if (only.token === '') {
    throw new InvalidRequestError('credentials_malformed', 'the access_token parameter is empty')
  }
  return only.token
}
