/** True for a loopback host name: `localhost`, `127.0.0.0/8` or `[::1]`. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname)
}

/**
 * Parses `value` as an absolute URL that keys or metadata may be fetched from: `https:`, or
 * `http:` on a loopback host (for local development and tests). No credentials, no fragment.
 * Returns undefined for anything else.
 */
export function parseFetchableUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string') return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') return undefined
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url
  return undefined
}

/** True when `value` is an `http:` URL whose host is not loopback: never acceptable as an issuer. */
export function isPlainHttpRemoteUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'http:' && !isLoopbackHost(url.hostname)
  } catch {
    return false
  }
}
