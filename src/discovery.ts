import { FetchFailedError, fetchJson, type FetchFunction, type FetchLimits } from './http.js'
import { parseFetchableUrl } from './urls.js'

/** Thrown when an issuer's metadata cannot be found or does not fit the issuer. */
export class DiscoveryFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * The metadata URLs of an issuer, in the order tried: OpenID Connect Discovery 1.0 §4 (the
 * well-known suffix appended to the issuer), then RFC 8414 §3 (inserted before the issuer's path).
 */
export function metadataUrls(issuer: URL): [string, string] {
  const path = issuer.pathname === '/' ? '' : issuer.pathname.replace(/\/$/, '')
  return [
    `${issuer.origin}${path}/.well-known/openid-configuration`,
    `${issuer.origin}/.well-known/oauth-authorization-server${path}`,
  ]
}

// Failures where the other well-known location may still answer; for timeouts and connection
// errors the second try would only double the wait.
const TRY_NEXT: ReadonlySet<string> = new Set(['http_status', 'redirect', 'not_json_content_type', 'invalid_json'])

function jwksUriOf(document: unknown, issuer: string, url: string): string {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new DiscoveryFailedError(`metadata at ${url} is not a json object`)
  }
  const metadata = document as Record<string, unknown>
  if (metadata.issuer !== issuer) {
    throw new DiscoveryFailedError(`metadata at ${url} names another issuer than the configured one`)
  }
  const jwksUri = parseFetchableUrl(metadata.jwks_uri)
  // Plain http (loopback only) is for an issuer that is itself on plain http loopback: a remote
  // issuer's metadata must not point this server at its own local ports.
  if (jwksUri === undefined || (jwksUri.protocol === 'http:' && !issuer.startsWith('http:'))) {
    throw new DiscoveryFailedError(`metadata at ${url} has no jwks_uri that is https (or http on loopback for a loopback issuer)`)
  }
  return jwksUri.href
}

/**
 * Finds an issuer's `jwks_uri` through its metadata. The document's `issuer` must equal the
 * configured issuer exactly (OpenID Connect Discovery §4.3, RFC 8414 §3.3).
 *
 * @throws DiscoveryFailedError when neither location yields usable metadata.
 */
export async function discoverJwksUri(issuer: string, limits: FetchLimits, fetchFn: FetchFunction): Promise<string> {
  const issuerUrl = parseFetchableUrl(issuer)
  if (issuerUrl === undefined) throw new DiscoveryFailedError('the issuer is not an https url')
  let lastError: unknown
  for (const url of metadataUrls(issuerUrl)) {
    try {
      return jwksUriOf(await fetchJson(url, limits, fetchFn), issuer, url)
    } catch (error) {
      lastError = error
      if (error instanceof FetchFailedError && TRY_NEXT.has(error.failure)) continue
      break
    }
  }
  const detail = lastError instanceof Error ? lastError.message : 'unknown error'
  throw new DiscoveryFailedError(`discovery for the issuer failed: ${detail}`, { cause: lastError })
}

/**
 * A `locate` function for a remote key set: discovers the issuer's `jwks_uri`, remembers it for
 * `maxAgeMs` (measured with `ageClock`, see `agingClock`), and keeps using the last one found
 * when a later discovery fails.
 */
export function discoveryLocator(
  issuer: string,
  maxAgeMs: number,
  limits: FetchLimits,
  fetchFn: FetchFunction,
  ageClock: () => number,
): () => Promise<string> {
  let known: string | undefined
  let discoveredAt = -Infinity
  return async () => {
    if (known !== undefined && ageClock() - discoveredAt < maxAgeMs) return known
    try {
      known = await discoverJwksUri(issuer, limits, fetchFn)
      discoveredAt = ageClock()
    } catch (error) {
      if (known === undefined) throw error
    }
    return known
  }
}
