/**
 * The bounded fetch of metadata and key sets, against a real HTTP server on 127.0.0.1: the faults
 * an in-process mock cannot model faithfully (bodies that never end, huge bodies, resets, silent
 * peers). No msw in this file, so `fetch` really goes over loopback.
 */
import type { ServerResponse } from 'node:http'
import { gzipSync } from 'node:zlib'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { FetchFailedError, fetchJson, type FetchFailure, type FetchFunction, type FetchLimits } from '../src/http.js'
import { createVerifier, type VerifierOptions } from '../src/index.js'
import { AUDIENCE, ISSUER, jwksOf, makeKey, signToken } from './helpers.js'
import { expectKeySetUnavailable } from './support/assertions.js'
import { pump, startServer, startTcpServer, trickle, type PumpOutcome, type RequestHandler, type TestServer } from './support/http-server.js'

const LIMITS: FetchLimits = { timeoutMs: 300, maxBodyBytes: 64 * 1024 }
/** Generous bound on anything that must not hang: a guard, not a performance assertion. */
const HANG_GUARD_MS = 3_000
const FIFTY_MIB = 50 * 1024 * 1024
const globalFetch: FetchFunction = (input, init) => fetch(input, init)
const key = makeKey('ES256', 'loopback-key')

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

async function serve(handle: RequestHandler): Promise<TestServer> {
  const server = await startServer(handle)
  cleanups.push(() => server.close())
  return server
}

function sendJson(response: ServerResponse, body: string, contentType = 'application/json'): void {
  response.writeHead(200, { 'content-type': contentType })
  response.end(body)
}

/** A JSON text of exactly `bytes` bytes. */
function jsonOfLength(bytes: number): string {
  return `{"pad":"${'x'.repeat(bytes - 10)}"}`
}

async function failureOf(promise: Promise<unknown>): Promise<FetchFailedError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the fetch to fail, but it succeeded')
    },
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(FetchFailedError)
  return error as FetchFailedError
}

async function expectFailure(promise: Promise<unknown>, failure: FetchFailure): Promise<FetchFailedError> {
  const error = await failureOf(promise)
  expect(error.failure).toBe(failure)
  return error
}

async function timed<T>(task: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now()
  const result = await task()
  return { result, ms: performance.now() - started }
}

describe('fetchJson: well-formed answers', () => {
  it('returns the parsed document of a 200 JSON response, asking for JSON with a GET', async () => {
    const server = await serve((_request, response) => sendJson(response, JSON.stringify(jwksOf(key))))
    await expect(fetchJson(server.url('/jwks'), LIMITS, globalFetch)).resolves.toEqual(jwksOf(key))
    expect(server.paths).toEqual(['/jwks'])
    expect(server.headers[0]?.accept).toBe('application/json')
  })

  it.each(['application/json; charset=utf-8', 'application/jwk-set+json', 'Application/JSON', 'application/json;charset=UTF-8'])(
    'accepts the media type %s',
    async (contentType) => {
      const server = await serve((_request, response) => sendJson(response, '{"ok":true}', contentType))
      await expect(fetchJson(server.url('/'), LIMITS, globalFetch)).resolves.toEqual({ ok: true })
    },
  )

  it('hands the fetch function a GET with redirect "manual", an abort signal and an accept header', async () => {
    const fetchFn = vi.fn<FetchFunction>(() => Promise.resolve(Response.json({ ok: true })))
    await fetchJson('https://issuer.example.com/jwks', LIMITS, fetchFn)
    expect(fetchFn).toHaveBeenCalledTimes(1)
    const [url, init] = fetchFn.mock.calls[0] ?? []
    expect(url).toBe('https://issuer.example.com/jwks')
    expect(init).toMatchObject({ method: 'GET', redirect: 'manual', headers: { accept: 'application/json' } })
    expect(init?.signal).toBeInstanceOf(AbortSignal)
  })

  it('refuses a response that a custom fetch reached by following a redirect', async () => {
    const followed = Response.json({ keys: [] })
    Object.defineProperty(followed, 'redirected', { value: true })
    await expectFailure(fetchJson('https://issuer.example.com/jwks', LIMITS, () => Promise.resolve(followed)), 'redirect')
  })

  it('reads a body split into many tiny chunks within the byte cap, into one buffer', async () => {
    const document = JSON.stringify({ pad: 'x'.repeat(20_000) })
    const bytes = new TextEncoder().encode(document)
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === bytes.length) controller.close()
        else controller.enqueue(bytes.subarray(sent, ++sent))
      },
    })
    const fetchFn = () => Promise.resolve(new Response(body, { headers: { 'content-type': 'application/json' } }))
    await expect(fetchJson('https://issuer.example.com/jwks', { ...LIMITS, maxBodyBytes: 32_768 }, fetchFn)).resolves.toEqual(JSON.parse(document))
  })
})

describe('fetchJson: refused answers', () => {
  it.each([201, 204, 404, 500, 503])('refuses status %i', async (code) => {
    const server = await serve((_request, response) => {
      response.writeHead(code, { 'content-type': 'application/json' })
      response.end(code === 204 ? undefined : '{"keys":[]}')
    })
    await expectFailure(fetchJson(server.url('/jwks'), LIMITS, globalFetch), 'http_status')
  })

  it.each([301, 302, 303, 307, 308])('does not follow a %i redirect: the target is never requested', async (code) => {
    const server = await serve((request, response) => {
      if (request.url === '/moved') return sendJson(response, '{"keys":[]}')
      response.writeHead(code, { location: '/moved' })
      response.end()
    })
    await expectFailure(fetchJson(server.url('/jwks'), LIMITS, globalFetch), 'redirect')
    expect(server.paths).toEqual(['/jwks'])
  })

  it.each([
    ['text/html', 'text/html; charset=utf-8'],
    ['text/plain', 'text/plain'],
    ['text/json', 'text/json'],
    ['application/json-seq', 'application/json-seq'],
    ['application/jsonp', 'application/jsonp'],
  ])('refuses content type %s', async (_name, contentType) => {
    const server = await serve((_request, response) => sendJson(response, '{"keys":[]}', contentType))
    await expectFailure(fetchJson(server.url('/'), LIMITS, globalFetch), 'not_json_content_type')
  })

  it('refuses a response without a content type', async () => {
    const server = await serve((_request, response) => response.end('{"keys":[]}'))
    await expectFailure(fetchJson(server.url('/'), LIMITS, globalFetch), 'not_json_content_type')
  })

  it('refuses invalid JSON without quoting the body in the message', async () => {
    const server = await serve((_request, response) => sendJson(response, '{"keys": [SECRET-BODY-TEXT'))
    const error = await expectFailure(fetchJson(server.url('/jwks'), LIMITS, globalFetch), 'invalid_json')
    expect(error.message).toContain(server.url('/jwks'))
    expect(error.message).not.toContain('SECRET-BODY-TEXT')
    expect(error.cause).toBeInstanceOf(Error)
  })

  it('refuses an empty body and a body that is not UTF-8', async () => {
    const server = await serve((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(request.url === '/latin1' ? Buffer.from([0x22, 0xe9, 0x22]) : undefined)
    })
    await expectFailure(fetchJson(server.url('/empty'), LIMITS, globalFetch), 'invalid_json')
    await expectFailure(fetchJson(server.url('/latin1'), LIMITS, globalFetch), 'invalid_json')
  })
})

describe('fetchJson: size cap', () => {
  const cap = 1024
  const limits: FetchLimits = { timeoutMs: LIMITS.timeoutMs, maxBodyBytes: cap }

  it('accepts a body of exactly the cap and refuses one byte more, with or without Content-Length', async () => {
    const server = await serve((request, response) => {
      const body = jsonOfLength(request.url?.includes('over') === true ? cap + 1 : cap)
      response.writeHead(200, { 'content-type': 'application/json' })
      if (request.url?.startsWith('/chunked') === true) {
        // Two writes: sent chunked, without a Content-Length.
        response.write(body.slice(0, 100))
        response.end(body.slice(100))
      } else {
        response.end(body)
      }
    })
    await expect(fetchJson(server.url('/declared'), limits, globalFetch)).resolves.toHaveProperty('pad')
    await expect(fetchJson(server.url('/chunked'), limits, globalFetch)).resolves.toHaveProperty('pad')
    await expectFailure(fetchJson(server.url('/declared-over'), limits, globalFetch), 'body_too_large')
    await expectFailure(fetchJson(server.url('/chunked-over'), limits, globalFetch), 'body_too_large')
  })

  it('stops at once on a Content-Length over the cap: the server sees the client leave early', async () => {
    let outcome: Promise<PumpOutcome> | undefined
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(FIFTY_MIB) })
      outcome = pump(response, FIFTY_MIB)
    })
    const { ms } = await timed(() => expectFailure(fetchJson(server.url('/huge'), LIMITS, globalFetch), 'body_too_large'))
    expect(ms).toBeLessThan(HANG_GUARD_MS)
    const seen = await outcome
    expect(seen?.complete).toBe(false)
    expect(seen?.sent).toBeLessThan(FIFTY_MIB / 2)
  })

  it('stops reading a 50 MiB streamed body once past the cap: the server sees the client leave early', async () => {
    let outcome: Promise<PumpOutcome> | undefined
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.write('{"keys":[],"pad":"')
      outcome = pump(response, FIFTY_MIB)
    })
    const { ms } = await timed(() => expectFailure(fetchJson(server.url('/huge'), LIMITS, globalFetch), 'body_too_large'))
    expect(ms).toBeLessThan(HANG_GUARD_MS)
    const seen = await outcome
    expect(seen?.complete).toBe(false)
    expect(seen?.sent).toBeLessThan(FIFTY_MIB / 2)
  })
})

describe('fetchJson: compressed bodies', () => {
  it('caps the body after decompression: a gzip bomb fails without being inflated whole', async () => {
    const bomb = gzipSync(Buffer.alloc(FIFTY_MIB, 0x20))
    expect(bomb.length).toBeLessThan(LIMITS.maxBodyBytes)
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bomb.length })
      response.end(bomb)
    })
    const { ms } = await timed(() => expectFailure(fetchJson(server.url('/jwks'), LIMITS, globalFetch), 'body_too_large'))
    expect(ms).toBeLessThan(HANG_GUARD_MS)
  })

  it('reads a gzip-compressed document within the cap', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      response.end(gzipSync(JSON.stringify(jwksOf(key))))
    })
    await expect(fetchJson(server.url('/jwks'), LIMITS, globalFetch)).resolves.toEqual(jwksOf(key))
  })
})

describe('fetchJson: deadline and broken connections', () => {
  it('fails a body that trickles forever within the deadline, and lets the connection go', async () => {
    let clientLeft: Promise<void> | undefined
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.write('{"keys":[')
      clientLeft = trickle(response)
    })
    const { ms } = await timed(() => expectFailure(fetchJson(server.url('/jwks'), LIMITS, globalFetch), 'timeout'))
    expect(ms).toBeGreaterThanOrEqual(LIMITS.timeoutMs - 20)
    expect(ms).toBeLessThan(HANG_GUARD_MS)
    await clientLeft
  })

  it('fails within the deadline when the server accepts the request but never answers', async () => {
    const server = await serve(() => undefined)
    const { ms } = await timed(() => expectFailure(fetchJson(server.url('/jwks'), LIMITS, globalFetch), 'timeout'))
    expect(ms).toBeLessThan(HANG_GUARD_MS)
    expect(server.paths).toEqual(['/jwks'])
  })

  it('fails within the deadline when a TCP peer accepts the connection and never sends a byte', async () => {
    const peer = await startTcpServer()
    cleanups.push(() => peer.close())
    const { ms } = await timed(() => expectFailure(fetchJson(`${peer.origin}/jwks`, LIMITS, globalFetch), 'timeout'))
    expect(ms).toBeLessThan(HANG_GUARD_MS)
    expect(peer.accepted()).toBe(1)
  })

  it('fails within the deadline when the response headers trickle in and never end', async () => {
    const peer = await startTcpServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n')
      const timer = setInterval(() => socket.write('x-padding: 1\r\n'), 20)
      socket.on('close', () => clearInterval(timer))
    })
    cleanups.push(() => peer.close())
    const { ms } = await timed(() => expectFailure(fetchJson(`${peer.origin}/jwks`, LIMITS, globalFetch), 'timeout'))
    expect(ms).toBeLessThan(HANG_GUARD_MS)
  })

  it('reports a connection reset in the middle of the body as a network error', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.write('{"keys":[{"kty":"EC",')
      setTimeout(() => response.socket?.destroy(), 20)
    })
    const error = await expectFailure(fetchJson(server.url('/jwks'), LIMITS, globalFetch), 'network_error')
    expect(error.cause).toBeDefined()
  })

  it('reports a refused connection as a network error', async () => {
    const server = await startServer(() => undefined)
    const url = server.url('/jwks')
    await server.close()
    const error = await expectFailure(fetchJson(url, LIMITS, globalFetch), 'network_error')
    expect(error.cause).toBeDefined()
  })
})

describe('fetchJson: a fetch function that misbehaves', () => {
  it('fails at the deadline even when the fetch ignores the abort signal and never settles', async () => {
    const neverSettles: FetchFunction = () => new Promise<Response>(() => undefined)
    const { ms } = await timed(() => expectFailure(fetchJson('https://issuer.example.com/jwks', LIMITS, neverSettles), 'timeout'))
    expect(ms).toBeLessThan(HANG_GUARD_MS)
  })

  it('fails at the deadline when the body never ends and the stream ignores cancellation', async () => {
    const endless: FetchFunction = () =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"keys":['))
            },
          }),
          { headers: { 'content-type': 'application/json' } },
        ),
      )
    const { ms } = await timed(() => expectFailure(fetchJson('https://issuer.example.com/jwks', LIMITS, endless), 'timeout'))
    expect(ms).toBeLessThan(HANG_GUARD_MS)
  })

  it('turns a fetch that throws synchronously into a network error', async () => {
    const throws: FetchFunction = () => {
      throw new TypeError('boom')
    }
    const error = await expectFailure(fetchJson('https://issuer.example.com/jwks', LIMITS, throws), 'network_error')
    expect(error.cause).toBeInstanceOf(TypeError)
  })

  it('leaves no unhandled rejection when the fetch rejects after the deadline', async () => {
    let rejectLate: ((reason: unknown) => void) | undefined
    const late: FetchFunction = () =>
      new Promise<Response>((_resolve, reject) => {
        rejectLate = reject
      })
    await expectFailure(fetchJson('https://issuer.example.com/jwks', { ...LIMITS, timeoutMs: 50 }, late), 'timeout')
    rejectLate?.(new Error('late failure'))
    // Give an unhandled rejection the chance to surface while this test still runs.
    await new Promise((resolve) => setTimeout(resolve, 20))
  })
})

describe('verifier with a loopback jwksUri', () => {
  function verifierFor(server: TestServer, path: string, options: Partial<VerifierOptions> = {}) {
    return createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: server.url(path),
      fetchTimeoutMs: 300,
      maxResponseBytes: 64 * 1024,
      ...options,
    })
  }

  it('fetches the keys over plain http from 127.0.0.1 and verifies', async () => {
    const server = await serve((_request, response) => sendJson(response, JSON.stringify(jwksOf(key))))
    await expect(verifierFor(server, '/jwks').verify(signToken(key))).resolves.toBeDefined()
    expect(server.paths).toEqual(['/jwks'])
  })

  const faults: [string, RequestHandler, FetchFailure][] = [
    [
      'a body that never ends',
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' })
        void trickle(response)
      },
      'timeout',
    ],
    ['a server that never answers', () => undefined, 'timeout'],
    [
      'a 50 MiB body',
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' })
        void pump(response, FIFTY_MIB)
      },
      'body_too_large',
    ],
    [
      'a Content-Length over the cap',
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(FIFTY_MIB) })
        void pump(response, FIFTY_MIB)
      },
      'body_too_large',
    ],
    [
      'a connection reset mid-body',
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.write('{"keys":[')
        setTimeout(() => response.socket?.destroy(), 20)
      },
      'network_error',
    ],
    [
      'a redirect',
      (_request, response) => {
        response.writeHead(302, { location: '/elsewhere' })
        response.end()
      },
      'redirect',
    ],
  ]

  it.each(faults)('answers key_set_unavailable, in bounded time, for %s', async (_name, handle, failure) => {
    const server = await serve(handle)
    const verifier = verifierFor(server, '/jwks')
    const { result: cause, ms } = await timed(() => expectKeySetUnavailable(verifier.verify(signToken(key))))
    expect(ms).toBeLessThan(HANG_GUARD_MS)
    expect(cause).toBeInstanceOf(FetchFailedError)
    expect((cause as FetchFailedError).failure).toBe(failure)
    expect(server.paths).toEqual(['/jwks'])
  })
})
