import { setImmediate as nextTurn } from 'node:timers/promises'

/** The `fetch` bearer-guard calls: the global one by default, or one the application supplies. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>

/** Bounds of one metadata or key-set request. */
export interface FetchLimits {
  /** Whole request, body included, in milliseconds. */
  timeoutMs: number
  /** Largest body accepted, in bytes. */
  maxBodyBytes: number
}

/** Why a document could not be fetched. */
export type FetchFailure =
  | 'network_error'
  | 'timeout'
  | 'http_status'
  | 'redirect'
  | 'not_json_content_type'
  | 'body_too_large'
  | 'invalid_json'

/** Thrown by {@link fetchJson}; the message names the URL and the failure, never a body. */
export class FetchFailedError extends Error {
  constructor(
    readonly failure: FetchFailure,
    readonly url: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`fetching ${url} failed: ${detail}`, options)
  }
}

/** Lets go of a body we will not read, without waiting on the peer. */
function discardBody(response: Response): void {
  response.body?.cancel().catch(() => undefined)
}

const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)/i

/**
 * Reads a body into one buffer that grows by doubling up to `maxBodyBytes`, so memory stays
 * bounded by the byte cap however the peer splits its body. An abort (the deadline) cancels the
 * reader, which ends a pending read even when the peer never sends another byte.
 */
async function readCappedBody(response: Response, url: string, maxBodyBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  const tooLarge = () => new FetchFailedError('body_too_large', url, `body larger than ${maxBodyBytes} bytes`)
  const declared = Number(response.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > maxBodyBytes) {
    discardBody(response)
    throw tooLarge()
  }
  if (response.body === null) return new Uint8Array(0)
  const reader = response.body.getReader()
  const cancel = () => void reader.cancel().catch(() => undefined)
  signal.addEventListener('abort', cancel, { once: true })
  let buffer = Buffer.allocUnsafe(Math.min(16_384, maxBodyBytes))
  let received = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (signal.aborted) throw new FetchFailedError('timeout', url, 'no complete answer in time')
      if (done) break
      if (received + value.byteLength > maxBodyBytes) throw tooLarge()
      if (received + value.byteLength > buffer.length) {
        const grown = Buffer.allocUnsafe(Math.min(maxBodyBytes, Math.max(buffer.length * 2, received + value.byteLength)))
        buffer.copy(grown, 0, 0, received)
        buffer = grown
      }
      buffer.set(value, received)
      received += value.byteLength
    }
  } catch (error) {
    cancel()
    throw error
  } finally {
    signal.removeEventListener('abort', cancel)
  }
  return buffer.subarray(0, received)
}

/** A JSON document as fetched, with what the response said about caching it. */
export interface FetchedDocument {
  /** The parsed body; `undefined` when the server answered `304 Not Modified`. */
  body: unknown
  notModified: boolean
  /** The response's `ETag`, for the next conditional request. */
  etag: string | undefined
  /** Freshness the response asked for (`Cache-Control: max-age`; `0` for `no-cache`/`no-store`), in seconds. */
  maxAgeSeconds: number | undefined
}

/** Freshness from `Cache-Control`, in seconds, or undefined when it says nothing about it. */
export function cacheMaxAge(cacheControl: string | null): number | undefined {
  if (cacheControl === null) return undefined
  if (/(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)/i.test(cacheControl)) return 0
  const match = /(?:^|,)\s*max-age\s*=\s*"?(\d{1,10})"?\s*(?:,|$)/i.exec(cacheControl)
  return match === null ? undefined : Number(match[1])
}

/**
 * GETs a JSON document within hard bounds: one deadline for the whole exchange, no redirects
 * followed, only `200` with a JSON media type (or `304` to a conditional request with `etag`), and
 * a body cap enforced while streaming, so a huge or never-ending response fails in bounded time
 * and memory.
 *
 * @throws FetchFailedError on every failure.
 */
export async function fetchJsonDocument(
  url: string,
  limits: FetchLimits,
  fetchFn: FetchFunction,
  etag?: string,
): Promise<FetchedDocument> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), limits.timeoutMs)
  const deadline = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(new FetchFailedError('timeout', url, `no complete answer within ${limits.timeoutMs} ms`)))
  })
  deadline.catch(() => undefined)
  const headers: Record<string, string> = etag === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'if-none-match': etag }
  try {
    let response: Response
    try {
      response = await Promise.race([fetchFn(url, { method: 'GET', headers, redirect: 'manual', signal: controller.signal }), deadline])
    } catch (error) {
      if (controller.signal.aborted) throw new FetchFailedError('timeout', url, `no answer within ${limits.timeoutMs} ms`)
      throw new FetchFailedError('network_error', url, 'network error', { cause: error })
    }
    if (typeof response !== 'object' || response === null || typeof (response as Partial<Response>).status !== 'number') {
      throw new FetchFailedError('network_error', url, 'the fetch function returned no response')
    }
    const caching = { etag: response.headers.get('etag') ?? undefined, maxAgeSeconds: cacheMaxAge(response.headers.get('cache-control')) }
    if (response.status === 304 && etag !== undefined) {
      discardBody(response)
      return { body: undefined, notModified: true, ...caching, etag: caching.etag ?? etag }
    }
    // A fetch that followed a redirect despite `redirect: 'manual'` (a custom one) is refused too.
    if (response.status !== 200 || response.redirected) {
      discardBody(response)
      const redirect = (response.status >= 300 && response.status < 400) || response.type === 'opaqueredirect' || response.redirected
      const failure = redirect ? 'redirect' : 'http_status'
      throw new FetchFailedError(failure, url, `http status ${response.status}`)
    }
    if (!JSON_MEDIA_TYPE.test(response.headers.get('content-type') ?? '')) {
      discardBody(response)
      throw new FetchFailedError('not_json_content_type', url, 'response is not json')
    }
    let body: Uint8Array
    try {
      body = await readCappedBody(response, url, limits.maxBodyBytes, controller.signal)
    } catch (error) {
      if (error instanceof FetchFailedError) throw error
      if (controller.signal.aborted) throw new FetchFailedError('timeout', url, `no complete answer within ${limits.timeoutMs} ms`)
      throw new FetchFailedError('network_error', url, 'connection failed while reading the body', { cause: error })
    }
    // Node's fetch (undici) puts the connection back in its pool only after the last read has
    // settled; one turn of the event loop lets the next request (the JWK Set right after the
    // metadata on a cold start) reuse it instead of opening another connection (and TLS session).
    // (`node:timers/promises`, which test suites' fake timers leave alone, unlike the global.)
    await nextTurn()
    try {
      return { body: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)) as unknown, notModified: false, ...caching }
    } catch (error) {
      throw new FetchFailedError('invalid_json', url, 'body is not valid json', { cause: error })
    }
  } finally {
    clearTimeout(timer)
  }
}

/** {@link fetchJsonDocument} without caching information: just the parsed body. */
export async function fetchJson(url: string, limits: FetchLimits, fetchFn: FetchFunction): Promise<unknown> {
  return (await fetchJsonDocument(url, limits, fetchFn)).body
}
