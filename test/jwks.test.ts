/**
 * The remote key set behind a verifier: caching, single flight, rotation, the unknown-kid rate
 * limit, failure backoff, the stale window and the background refresh; plus KeySet and the static
 * set. The provider is mocked with msw; nothing leaves the process.
 */
import { randomUUID } from 'node:crypto'
import { delay, http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { FetchFailedError, type FetchFunction } from '../src/http.js'
import { createVerifier, type VerifierOptions } from '../src/index.js'
import { KeySet, KeySetRejectedError } from '../src/key-set.js'
import { AUDIENCE, claims, ISSUER, jwksOf, makeKey, signToken, type TestKey } from './helpers.js'
import { expectCode, expectKeySetUnavailable } from './support/assertions.js'
import { gate, json, JWKS_URL, metadata, OIDC_URL, raw, RequestLog, route, status, type Responder } from './support/idp.js'

const server = setupServer()
const log = new RequestLog(server)

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => {
  server.resetHandlers()
  log.clear()
  vi.useRealTimers()
})
afterAll(() => server.close())

const a = makeKey('ES256', 'key-a')
const b = makeKey('ES256', 'key-b')
const ed = makeKey('EdDSA', 'key-ed')
const T0 = Date.UTC(2030, 0, 1)

function remoteVerifier(options: Partial<VerifierOptions> = {}) {
  return createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: JWKS_URL, ...options })
}

/**
 * Freezes the wall clock (`Date`) at {@link T0} and the monotonic one (`performance.now`) with it;
 * call before the verifier's first verify. Returns a function that moves both to `ms` after the
 * start (never backwards).
 */
function freezeClock(): (ms: number) => void {
  vi.useFakeTimers({ toFake: ['Date', 'performance'] })
  vi.setSystemTime(T0)
  let elapsed = 0
  return (ms) => {
    vi.advanceTimersByTime(ms - elapsed)
    elapsed = ms
  }
}

/** A token signed by `key` but naming a `kid` nobody published. */
function tokenWithUnknownKid(key: TestKey = a): string {
  return signToken(key, claims(), { header: { kid: `unknown-${randomUUID()}` } })
}

function asKeySetRejection(cause: unknown): KeySetRejectedError {
  expect(cause).toBeInstanceOf(KeySetRejectedError)
  return cause as KeySetRejectedError
}

function asFetchFailure(cause: unknown): FetchFailedError {
  expect(cause).toBeInstanceOf(FetchFailedError)
  return cause as FetchFailedError
}

describe('remote key set: fetching and caching', () => {
  it('fetches the JWK Set on first use and then verifies from the cache', async () => {
    const jwks = route(server, JWKS_URL, json(jwksOf(a, ed)))
    const verifier = remoteVerifier()
    expect(jwks.hits).toBe(0)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    await expect(verifier.verify(signToken(ed))).resolves.toBeDefined()
    expect(jwks.hits).toBe(1)
    expect(log.urls).toEqual([JWKS_URL])
  })

  it('shares one discovery and one JWK Set fetch among 100 concurrent verifications on a cold verifier', async () => {
    const discovery = route(server, OIDC_URL, async () => {
      await delay(20)
      return HttpResponse.json(metadata())
    })
    const jwks = route(server, JWKS_URL, async () => {
      await delay(20)
      return HttpResponse.json(jwksOf(a, b))
    })
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE })
    const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => verifier.verify(signToken(i % 2 === 0 ? a : b))))
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(100)
    expect(discovery.hits).toBe(1)
    expect(jwks.hits).toBe(1)
  })

  it('shares one failed fetch among concurrent verifications, which all get key_set_unavailable', async () => {
    const jwks = route(server, JWKS_URL, async () => {
      await delay(20)
      return new HttpResponse(null, { status: 503 })
    })
    const verifier = remoteVerifier()
    const errors = await Promise.all(Array.from({ length: 20 }, () => expectKeySetUnavailable(verifier.verify(signToken(a)))))
    for (const cause of errors) expect(asFetchFailure(cause).failure).toBe('http_status')
    expect(jwks.hits).toBe(1)
  })

  it('uses the fetch option instead of the global fetch', async () => {
    const fetchFn = vi.fn<FetchFunction>(() => Promise.resolve(Response.json(jwksOf(a))))
    await expect(remoteVerifier({ fetch: fetchFn }).verify(signToken(a))).resolves.toBeDefined()
    expect(fetchFn).toHaveBeenCalledTimes(1)
    expect(fetchFn.mock.calls[0]?.[0]).toBe(JWKS_URL)
    expect(log.urls).toEqual([])
  })
})

describe('remote key set: unknown kids and rotation', () => {
  it('picks up a rotated key: a token with a new kid triggers exactly one refetch, then verifies', async () => {
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = remoteVerifier()
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    jwks.answer(json(jwksOf(a, b)))
    await expect(verifier.verify(signToken(b))).resolves.toBeDefined()
    expect(jwks.hits).toBe(2)
    await expect(verifier.verify(signToken(b))).resolves.toBeDefined()
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(jwks.hits).toBe(2)
  })

  it('answers key_not_found for a kid the freshly fetched set lacks, without a second fetch', async () => {
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const error = await expectCode(remoteVerifier().verify(tokenWithUnknownKid()), 'key_not_found')
    expect(error.cause).toBeUndefined()
    expect(jwks.hits).toBe(1)
  })

  it('lets a flood of unknown kids cost at most one fetch per cooldown window', async () => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = remoteVerifier({ jwksCooldownMs: 1_000 })
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(jwks.hits).toBe(1)

    const concurrent = Array.from({ length: 50 }, () => expectCode(verifier.verify(tokenWithUnknownKid()), 'key_not_found'))
    await Promise.all(concurrent)
    expect(jwks.hits).toBe(2)
    for (let i = 0; i < 20; i++) await expectCode(verifier.verify(tokenWithUnknownKid()), 'key_not_found')
    expect(jwks.hits).toBe(2)

    at(999)
    for (let i = 0; i < 20; i++) await expectCode(verifier.verify(tokenWithUnknownKid()), 'key_not_found')
    expect(jwks.hits).toBe(2)

    at(1_000)
    for (let i = 0; i < 20; i++) await expectCode(verifier.verify(tokenWithUnknownKid()), 'key_not_found')
    expect(jwks.hits).toBe(3)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(jwks.hits).toBe(3)
  })

  it('does not pick up a key published within the cooldown of an unknown-kid refetch', async () => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = remoteVerifier({ jwksCooldownMs: 1_000 })
    await verifier.verify(signToken(a))
    await expectCode(verifier.verify(tokenWithUnknownKid()), 'key_not_found')
    jwks.answer(json(jwksOf(a, b)))
    await expectCode(verifier.verify(signToken(b)), 'key_not_found')
    expect(jwks.hits).toBe(2)
    at(1_000)
    await expect(verifier.verify(signToken(b))).resolves.toBeDefined()
    expect(jwks.hits).toBe(3)
  })
})

describe('remote key set: rotation during a background refresh', () => {
  it('fetches again for a new kid when the refresh under way started before the rotation', async () => {
    const at = freezeClock()
    const slow = gate()
    let calls = 0
    const jwks = route(server, JWKS_URL, async () => {
      calls++
      if (calls === 2) {
        await slow.promise
        return HttpResponse.json(jwksOf(a)) // the key set as it was when this request was made
      }
      return HttpResponse.json(calls === 1 ? jwksOf(a) : jwksOf(a, b))
    })
    const verifier = remoteVerifier({ jwksMaxAgeMs: 10_000 })
    await verifier.verify(signToken(a))
    at(8_000)
    await verifier.verify(signToken(a)) // starts the background refresh, which hangs
    await vi.waitFor(() => expect(jwks.hits).toBe(2))
    const rotated = verifier.verify(signToken(b))
    slow.open()
    await expect(rotated).resolves.toBeDefined()
    expect(jwks.hits).toBe(3)
  })
})

describe('remote key set: max age and background refresh', () => {
  it('stops verifying with a key the provider withdrew once the max age has passed', async () => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, json(jwksOf(a, b)))
    const verifier = remoteVerifier({ jwksMaxAgeMs: 1_000 })
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    jwks.answer(json(jwksOf(b)))
    at(500)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(jwks.hits).toBe(1)
    at(1_000)
    await expectCode(verifier.verify(signToken(a)), 'key_not_found')
    await expect(verifier.verify(signToken(b))).resolves.toBeDefined()
    expect(jwks.hits).toBe(2)
  })

  it('refreshes in the background from 80% of the max age, without making the caller wait', async () => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = remoteVerifier({ jwksMaxAgeMs: 1_000 })
    await verifier.verify(signToken(a))
    at(790)
    await verifier.verify(signToken(a))
    expect(jwks.hits).toBe(1)

    const held = gate()
    jwks.answer(async () => {
      await held.promise
      return HttpResponse.json(jwksOf(a, b))
    })
    at(800)
    // Served from the cache while the refresh it started is still held back by the provider.
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    await vi.waitFor(() => expect(jwks.hits).toBe(2))
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(jwks.hits).toBe(2)
    held.open()

    // The refreshed set is in use (b verifies) and fresh again (no fetch for a while).
    await vi.waitFor(async () => {
      await expect(verifier.verify(signToken(b))).resolves.toBeDefined()
    })
    at(800 + 700)
    await expect(verifier.verify(signToken(b))).resolves.toBeDefined()
    expect(jwks.hits).toBe(2)
  })
})

describe('remote key set: clock jumps', () => {
  it('stops using a withdrawn key after the max age of elapsed time, even when the wall clock jumped back', async () => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = remoteVerifier({ jwksMaxAgeMs: 1_000 })
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    jwks.answer(json(jwksOf(b)))
    vi.setSystemTime(T0 - 3_600_000) // the wall clock goes back an hour; elapsed time does not
    at(1_000)
    await expectCode(verifier.verify(signToken(a)), 'key_not_found')
    expect(jwks.hits).toBe(2)
  })

  it('ages the set by a forward jump of the wall clock, as after a suspend the monotonic clock did not count', async () => {
    freezeClock()
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = remoteVerifier({ jwksMaxAgeMs: 60_000 })
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    jwks.answer(json(jwksOf(b)))
    vi.setSystemTime(T0 + 3_600_000)
    await expectCode(verifier.verify(signToken(a)), 'key_not_found')
    expect(jwks.hits).toBe(2)
  })

  it('keeps the unknown-kid cooldown when the wall clock jumps forward', async () => {
    freezeClock()
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = remoteVerifier({ jwksMaxAgeMs: 86_400_000, jwksCooldownMs: 30_000 })
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    await expectCode(verifier.verify(tokenWithUnknownKid()), 'key_not_found')
    expect(jwks.hits).toBe(2)
    vi.setSystemTime(T0 + 3_600_000) // the set is still fresh (max age one day)
    await expectCode(verifier.verify(tokenWithUnknownKid()), 'key_not_found')
    expect(jwks.hits).toBe(2)
  })

  it('keeps the failure back-off when the wall clock jumps forward', async () => {
    freezeClock()
    const jwks = route(server, JWKS_URL, status(503))
    const verifier = remoteVerifier()
    await expectCode(verifier.verify(signToken(a)), 'key_set_unavailable')
    expect(jwks.hits).toBe(1)
    vi.setSystemTime(T0 + 3_600_000)
    await expectCode(verifier.verify(signToken(a)), 'key_set_unavailable')
    expect(jwks.hits).toBe(1)
  })

  it('rediscovers after the max age of elapsed time, even when the wall clock jumped back', async () => {
    const at = freezeClock()
    const discovery = route(server, OIDC_URL, json(metadata()))
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksMaxAgeMs: 1_000 })
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    vi.setSystemTime(T0 - 3_600_000)
    at(1_000)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(jwks.hits).toBe(2)
    expect(discovery.hits).toBe(2)
  })
})

describe('remote key set: a bad refetch never replaces good keys', () => {
  const badAnswers: [string, Responder][] = [
    ['an empty key set', json({ keys: [] })],
    ['only encryption keys', json({ keys: [{ ...b.jwk, use: 'enc' }] })],
    ['only symmetric keys', json({ keys: [{ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0', kid: 'hmac' }] })],
    ['invalid JSON', raw('{"keys": [')],
    ['a 500', status(500)],
    ['HTML', raw('<html>maintenance</html>', 'text/html')],
    ['a network error', () => HttpResponse.error()],
    ['duplicate kids', json({ keys: [b.jwk, { ...a.jwk, kid: b.kid }] })],
  ]

  it.each(badAnswers)('keeps the good keys after an unknown-kid refetch that yields %s', async (_name, bad) => {
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = remoteVerifier()
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    jwks.answer(bad)
    await expectCode(verifier.verify(signToken(b)), 'key_not_found')
    expect(jwks.hits).toBe(2)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(jwks.hits).toBe(2)
  })

  it.each(badAnswers)('keeps serving the good keys when the refresh after max age yields %s', async (_name, bad) => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = remoteVerifier({ jwksMaxAgeMs: 1_000 })
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    jwks.answer(bad)
    at(1_000)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(jwks.hits).toBe(2)
  })
})

describe('remote key set: refused responses', () => {
  const cases: [string, Responder, (cause: unknown) => void][] = [
    ['a 404', status(404), (cause) => expect(asFetchFailure(cause).failure).toBe('http_status')],
    ['an HTML page', raw('<html></html>', 'text/html'), (cause) => expect(asFetchFailure(cause).failure).toBe('not_json_content_type')],
    ['invalid JSON', raw('{"keys":'), (cause) => expect(asFetchFailure(cause).failure).toBe('invalid_json')],
    ['a network error', () => HttpResponse.error(), (cause) => expect(asFetchFailure(cause).failure).toBe('network_error')],
    [
      'a Content-Length over maxResponseBytes',
      raw(JSON.stringify({ keys: [a.jwk], pad: 'x'.repeat(2_000) })),
      (cause) => expect(asFetchFailure(cause).failure).toBe('body_too_large'),
    ],
    ['an array body', json([a.jwk]), (cause) => expect(asKeySetRejection(cause).rejection).toBe('not_a_key_set')],
    ['a string body', json('keys'), (cause) => expect(asKeySetRejection(cause).rejection).toBe('not_a_key_set')],
    ['a null body', json(null), (cause) => expect(asKeySetRejection(cause).rejection).toBe('not_a_key_set')],
    ['keys that are not an array', json({ keys: { 0: a.jwk } }), (cause) => expect(asKeySetRejection(cause).rejection).toBe('not_a_key_set')],
    ['more keys than jwksMaxKeys', json(jwksOf(a, b, ed)), (cause) => expect(asKeySetRejection(cause).rejection).toBe('too_many_keys')],
    ['a repeated kid', json({ keys: [a.jwk, { ...b.jwk, kid: a.kid }] }), (cause) => expect(asKeySetRejection(cause).rejection).toBe('duplicate_kid')],
    [
      'no usable key',
      json({ keys: [{ ...a.jwk, use: 'enc' }, { ...a.jwk, kid: 'private', d: 'AAAA' }] }),
      (cause) => expect(asKeySetRejection(cause).skipped).toEqual(['not_for_signatures', 'private_key']),
    ],
  ]

  it.each(cases)('answers key_set_unavailable, with the reason as cause, for %s', async (_name, respond, checkCause) => {
    const jwks = route(server, JWKS_URL, respond)
    const verifier = remoteVerifier({ jwksMaxKeys: 2, maxResponseBytes: 1_024 })
    checkCause(await expectKeySetUnavailable(verifier.verify(signToken(a))))
    expect(jwks.hits).toBe(1)
  })

  it('does not follow a redirect: the target is never requested', async () => {
    const jwks = route(server, JWKS_URL, status(302, { location: 'https://issuer.example.com/moved-jwks' }))
    const target = route(server, 'https://issuer.example.com/moved-jwks', json(jwksOf(a)))
    const cause = await expectKeySetUnavailable(remoteVerifier().verify(signToken(a)))
    expect(asFetchFailure(cause).failure).toBe('redirect')
    expect(jwks.hits).toBe(1)
    expect(target.hits).toBe(0)
    expect(log.urls).toEqual([JWKS_URL])
  })
})

describe('remote key set: failures back off', () => {
  it('fails fast after a failure: an immediate retry fetches nothing', async () => {
    const jwks = route(server, JWKS_URL, status(500))
    const verifier = remoteVerifier()
    await expectKeySetUnavailable(verifier.verify(signToken(a)))
    jwks.answer(json(jwksOf(a)))
    const started = performance.now()
    const cause = await expectKeySetUnavailable(verifier.verify(signToken(a)))
    expect(performance.now() - started).toBeLessThan(250)
    expect(asFetchFailure(cause).failure).toBe('http_status')
    expect(jwks.hits).toBe(1)
  })

  it('retries after 1 s, then 2 s, 4 s …, and recovers once the provider answers', async () => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, status(503))
    const verifier = remoteVerifier()
    await expectKeySetUnavailable(verifier.verify(signToken(a)))
    expect(jwks.hits).toBe(1)
    at(999)
    await expectKeySetUnavailable(verifier.verify(signToken(a)))
    expect(jwks.hits).toBe(1)
    at(1_000)
    await expectKeySetUnavailable(verifier.verify(signToken(a)))
    expect(jwks.hits).toBe(2)
    at(2_999)
    await expectKeySetUnavailable(verifier.verify(signToken(a)))
    expect(jwks.hits).toBe(2)
    at(3_000)
    await expectKeySetUnavailable(verifier.verify(signToken(a)))
    expect(jwks.hits).toBe(3)
    jwks.answer(json(jwksOf(a)))
    at(6_999)
    await expectKeySetUnavailable(verifier.verify(signToken(a)))
    expect(jwks.hits).toBe(3)
    at(7_000)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(jwks.hits).toBe(4)
  })

  it('caps the backoff at the cooldown', async () => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, status(503))
    const verifier = remoteVerifier({ jwksCooldownMs: 1_500 })
    await expectKeySetUnavailable(verifier.verify(signToken(a)))
    at(1_000)
    await expectKeySetUnavailable(verifier.verify(signToken(a)))
    // Uncapped, the next try would wait 2 s; the cap makes it 1.5 s.
    at(2_500)
    await expectKeySetUnavailable(verifier.verify(signToken(a)))
    at(4_000)
    await expectKeySetUnavailable(verifier.verify(signToken(a)))
    expect(jwks.hits).toBe(4)
  })

  it('does not refetch for an unknown kid while backing off', async () => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = remoteVerifier({ jwksCooldownMs: 0 })
    await verifier.verify(signToken(a))
    jwks.answer(status(500))
    await expectCode(verifier.verify(tokenWithUnknownKid()), 'key_not_found')
    expect(jwks.hits).toBe(2)
    await expectCode(verifier.verify(tokenWithUnknownKid()), 'key_not_found')
    expect(jwks.hits).toBe(2)
    at(1_000)
    await expectCode(verifier.verify(tokenWithUnknownKid()), 'key_not_found')
    expect(jwks.hits).toBe(3)
  })
})

describe('remote key set: stale window', () => {
  it('keeps serving the last good keys within jwksStaleMaxAgeMs while the provider is down, then stops', async () => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = remoteVerifier({ jwksMaxAgeMs: 1_000, jwksStaleMaxAgeMs: 5_000 })
    await verifier.verify(signToken(a))
    jwks.answer(status(503))

    at(1_500)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(jwks.hits).toBe(2)
    at(5_999)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(jwks.hits).toBe(3)

    at(6_000)
    const cause = await expectKeySetUnavailable(verifier.verify(signToken(a)))
    expect(asFetchFailure(cause).failure).toBe('http_status')

    // Back up: the keys serve again once a refresh succeeds.
    jwks.answer(json(jwksOf(a)))
    at(60_000)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
  })

  it('with jwksStaleMaxAgeMs 0, stops serving right at the max age when the refresh fails', async () => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = remoteVerifier({ jwksMaxAgeMs: 1_000, jwksStaleMaxAgeMs: 0 })
    await verifier.verify(signToken(a))
    jwks.answer(status(503))
    at(999)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    at(1_000)
    await expectKeySetUnavailable(verifier.verify(signToken(a)))
  })
})

describe('remote key set: conditional requests and Cache-Control', () => {
  /** Serves `jwks` with `headers`, answering 304 to If-None-Match "v1"; records each If-None-Match sent. */
  function conditionalProvider(headers: Record<string, string>) {
    const seen: (string | null)[] = []
    server.use(
      http.get(JWKS_URL, ({ request }) => {
        const match = request.headers.get('if-none-match')
        seen.push(match)
        if (match === '"v1"') return new HttpResponse(null, { status: 304, headers })
        return HttpResponse.json(jwksOf(a), { headers: { etag: '"v1"', ...headers } })
      }),
    )
    return seen
  }

  it('revalidates with If-None-Match and keeps the keys on 304 Not Modified', async () => {
    const at = freezeClock()
    const seen = conditionalProvider({})
    const verifier = remoteVerifier({ jwksMaxAgeMs: 10_000 })
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    at(10_000)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(seen).toEqual([null, '"v1"'])
    // The 304 made the set fresh again: no request until it ages once more.
    at(15_000)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(seen).toHaveLength(2)
  })

  it('refuses a 304 to a request that was not conditional', async () => {
    route(server, JWKS_URL, status(304))
    await expectKeySetUnavailable(remoteVerifier().verify(signToken(a)))
  })

  /**
   * Asserts that the set counts as fresh for exactly `freshMs`: the background refresh (started at
   * 80 % of freshness) has not started 1 ms before that point and has started at it.
   */
  async function expectFreshFor(verify: () => Promise<unknown>, at: (ms: number) => void, hits: () => number, freshMs: number) {
    await verify()
    at(freshMs * 0.8 - 1)
    await verify()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(hits()).toBe(1)
    at(freshMs * 0.8)
    await verify()
    await vi.waitFor(() => expect(hits()).toBe(2))
  }

  it.each([
    ['max-age=120', 120_000],
    ['public, max-age=5', 60_000],
    ['max-age=86400', 600_000],
    ['no-store', 60_000],
    ['no-cache, max-age=300', 60_000],
  ])('with Cache-Control %s, treats the set as fresh for %i ms (bounded to [60 s, 10 min])', async (cacheControl, freshMs) => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, () => HttpResponse.json(jwksOf(a), { headers: { 'cache-control': cacheControl } }))
    const verifier = remoteVerifier()
    await expectFreshFor(() => verifier.verify(signToken(a)), at, () => jwks.hits, freshMs)
  })

  it('honours jwksMinAgeMs as the floor', async () => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, () => HttpResponse.json(jwksOf(a), { headers: { 'cache-control': 'max-age=1' } }))
    const verifier = remoteVerifier({ jwksMinAgeMs: 5_000 })
    await expectFreshFor(() => verifier.verify(signToken(a)), at, () => jwks.hits, 5_000)
  })

  it('once a refresh has failed, serves stale keys at once instead of waiting on the provider', async () => {
    const at = freezeClock()
    const jwks = route(server, JWKS_URL, json(jwksOf(a)))
    const verifier = remoteVerifier({ jwksMaxAgeMs: 10_000, fetchTimeoutMs: 5_000 })
    await verifier.verify(signToken(a))
    jwks.answer(status(500))
    at(10_000)
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(jwks.hits).toBe(2)
    // The provider now hangs; after the back-off a retry starts, but no caller waits for it.
    const hang = gate()
    jwks.answer(async () => {
      await hang.promise
      return HttpResponse.json(jwksOf(a))
    })
    at(12_000)
    const started = performance.now()
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(jwks.hits).toBe(3)
    hang.open()
  })
})

describe('KeySet.fromDocument', () => {
  const allowed = new Set(['ES256', 'EdDSA', 'RS256'] as const)

  it('keeps the usable members and skips the others', async () => {
    const set = await KeySet.fromDocument(
      { keys: [a.jwk, { ...b.jwk, use: 'enc' }, { kty: 'oct', k: 'AAAA' }, ed.jwk, 'junk'] },
      allowed,
      10,
    )
    expect(set.size).toBe(2)
    expect(set.select(ed.kid, 'EdDSA')).toMatchObject({ kid: ed.kid, kty: 'OKP' })
    expect(set.select(a.kid, 'ES256')).toMatchObject({ kid: a.kid, kty: 'EC' })
    expect(set.select(b.kid, 'ES256')).toBe('unknown_kid')
    expect(set.select(a.kid, 'EdDSA')).toBe('unfit')
  })

  it.each([null, [], 'keys', 42, {}, { keys: null }, { keys: {} }])('refuses %j as not a key set', async (document) => {
    await expect(KeySet.fromDocument(document, allowed, 10)).rejects.toMatchObject({ rejection: 'not_a_key_set' })
  })

  it('refuses more members than maxKeys, counting unusable ones', async () => {
    await expect(KeySet.fromDocument({ keys: [a.jwk, b.jwk] }, allowed, 2)).resolves.toHaveProperty('size', 2)
    const document = { keys: [a.jwk, b.jwk, { kty: 'oct', k: 'AAAA' }] }
    await expect(KeySet.fromDocument(document, allowed, 2)).rejects.toMatchObject({ rejection: 'too_many_keys' })
  })

  it('refuses a repeated kid', async () => {
    await expect(KeySet.fromDocument({ keys: [a.jwk, { ...b.jwk, kid: a.kid }] }, allowed, 10)).rejects.toMatchObject({
      rejection: 'duplicate_kid',
    })
  })

  it('accepts a kid shared by keys of different types, picking the one that fits the alg (RFC 7517 §4.5)', async () => {
    const set = await KeySet.fromDocument({ keys: [a.jwk, { ...ed.jwk, kid: a.kid }] }, allowed, 10)
    expect(set.select(a.kid, 'ES256')).toMatchObject({ kty: 'EC' })
    expect(set.select(a.kid, 'EdDSA')).toMatchObject({ kty: 'OKP' })
    expect(set.select(a.kid, 'RS256')).toBe('unfit')
  })

  it('accepts a kid shared by a signing key and an encryption key (RFC 7517 §4.5)', async () => {
    const set = await KeySet.fromDocument({ keys: [a.jwk, { ...b.jwk, kid: a.kid, use: 'enc' }] }, allowed, 10)
    expect(set.size).toBe(1)
  })

  it('refuses a set without a usable key, listing why each member was skipped', async () => {
    const error = await KeySet.fromDocument({ keys: [{ ...a.jwk, use: 'enc' }, { kty: 'oct', k: 'AAAA' }] }, allowed, 10).catch(
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(KeySetRejectedError)
    expect(error).toMatchObject({ rejection: 'no_usable_keys', skipped: ['not_for_signatures', 'symmetric_key'] })
    expect((error as Error).message).toBe('jwk set rejected: no_usable_keys (not_for_signatures, symmetric_key)')
  })

  it('skips keys of algorithms not allowed', async () => {
    await expect(KeySet.fromDocument(jwksOf(ed), new Set(['ES256'] as const), 10)).rejects.toMatchObject({ rejection: 'no_usable_keys' })
  })
})

describe('static key set (jwks option)', () => {
  it('never fetches', async () => {
    const fetchFn = vi.fn<FetchFunction>()
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(a), fetch: fetchFn })
    await expect(verifier.verify(signToken(a))).resolves.toBeDefined()
    await expectCode(verifier.verify(signToken(b)), 'key_not_found')
    expect(fetchFn).not.toHaveBeenCalled()
    expect(log.urls).toEqual([])
  })

  it('makes every lookup key_set_unavailable, with the reason as cause, when no key survives import', async () => {
    // Passes the checks made at construction, fails the import: the point is on no curve.
    const offCurve = { ...a.jwk, y: a.jwk.x }
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [offCurve] } })
    for (let i = 0; i < 2; i++) {
      expect(asKeySetRejection(await expectKeySetUnavailable(verifier.verify(signToken(a)))).rejection).toBe('no_usable_keys')
    }
  })
})

describe('remote key set: direct use', () => {
  it('keeps one fetch in flight, and a fresh set serves peek without I/O', async () => {
    const { RemoteKeySet } = await import('../src/jwks.js')
    let t = T0
    const fetchFn = vi.fn<FetchFunction>(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10))
      return Response.json(jwksOf(a))
    })
    const set = new RemoteKeySet(() => Promise.resolve(JWKS_URL), {
      allowed: new Set(['ES256'] as const),
      maxKeys: 10,
      maxAgeMs: 1_000,
      minAgeMs: 1_000,
      cooldownMs: 30_000,
      staleMaxAgeMs: 0,
      limits: { timeoutMs: 1_000, maxBodyBytes: 10_000 },
      fetch: fetchFn,
      ageClock: () => t,
      rateClock: () => t,
    })
    expect(set.peek(a.kid, 'ES256')).toBeUndefined()
    const lookups = await Promise.all([set.select(a.kid, 'ES256'), set.select(a.kid, 'ES256'), set.select(undefined, 'ES256')])
    for (const lookup of lookups) expect(lookup).toMatchObject({ kid: a.kid })
    expect(fetchFn).toHaveBeenCalledTimes(1)
    expect(set.peek(a.kid, 'ES256')).toMatchObject({ kid: a.kid })
    expect(set.peek(b.kid, 'ES256')).toBeUndefined()
    t += 1_000
    expect(set.peek(a.kid, 'ES256')).toBeUndefined()
    expect(fetchFn).toHaveBeenCalledTimes(1)
  })
})
