/**
 * Finding an issuer's keys through its metadata: OpenID Connect Discovery, then RFC 8414; the
 * checks on the metadata; and the locator that remembers the `jwks_uri`. The provider is mocked
 * with msw; nothing leaves the process.
 */
import { delay, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { discoverJwksUri, DiscoveryFailedError, discoveryLocator, metadataUrls } from '../src/discovery.js'
import { FetchFailedError, type FetchFunction, type FetchLimits } from '../src/http.js'
import { createVerifier, type VerifierOptions } from '../src/index.js'
import { AUDIENCE, claims, ISSUER, jwksOf, makeKey, signToken } from './helpers.js'
import { expectCode, expectKeySetUnavailable } from './support/assertions.js'
import { json, JWKS_URL, metadata, OIDC_URL, raw, RequestLog, RFC8414_URL, route, status, type Responder } from './support/idp.js'

const server = setupServer()
const log = new RequestLog(server)

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => {
  server.resetHandlers()
  log.clear()
})
afterAll(() => server.close())

const key = makeKey('ES256', 'discovered-key')
const LIMITS: FetchLimits = { timeoutMs: 1_000, maxBodyBytes: 64 * 1024 }

function discoveringVerifier(options: Partial<VerifierOptions> = {}) {
  return createVerifier({ issuer: ISSUER, audience: AUDIENCE, ...options })
}

function asDiscoveryFailure(cause: unknown): DiscoveryFailedError {
  expect(cause).toBeInstanceOf(DiscoveryFailedError)
  return cause as DiscoveryFailedError
}

describe('discovery through the verifier', () => {
  it('finds the jwks_uri through /.well-known/openid-configuration', async () => {
    route(server, OIDC_URL, json(metadata()))
    route(server, JWKS_URL, json(jwksOf(key)))
    const verifier = discoveringVerifier()
    await expect(verifier.verify(signToken(key))).resolves.toBeDefined()
    await expect(verifier.verify(signToken(key))).resolves.toBeDefined()
    expect(log.urls).toEqual([OIDC_URL, JWKS_URL])
  })

  it('falls back to RFC 8414 /.well-known/oauth-authorization-server when there is no OpenID configuration', async () => {
    route(server, OIDC_URL, status(404))
    route(server, RFC8414_URL, json(metadata()))
    route(server, JWKS_URL, json(jwksOf(key)))
    await expect(discoveringVerifier().verify(signToken(key))).resolves.toBeDefined()
    expect(log.urls).toEqual([OIDC_URL, RFC8414_URL, JWKS_URL])
  })

  it.each<[string, Responder]>([
    ['a 500', status(500)],
    ['an HTML page', raw('<html>not found</html>', 'text/html')],
    ['invalid JSON', raw('{"issuer":')],
    ['a redirect', status(302, { location: 'https://issuer.example.com/elsewhere' })],
  ])('also falls back when the OpenID location answers %s', async (_name, respond) => {
    route(server, OIDC_URL, respond)
    const elsewhere = route(server, 'https://issuer.example.com/elsewhere', json(metadata()))
    route(server, RFC8414_URL, json(metadata()))
    route(server, JWKS_URL, json(jwksOf(key)))
    await expect(discoveringVerifier().verify(signToken(key))).resolves.toBeDefined()
    expect(log.urls).toEqual([OIDC_URL, RFC8414_URL, JWKS_URL])
    expect(elsewhere.hits).toBe(0)
  })

  it('for an issuer with a path, appends the OpenID suffix but inserts the RFC 8414 segment before the path', async () => {
    const issuer = 'https://issuer.example.com/tenants/acme/'
    const oidc = 'https://issuer.example.com/tenants/acme/.well-known/openid-configuration'
    const rfc8414 = 'https://issuer.example.com/.well-known/oauth-authorization-server/tenants/acme'
    route(server, oidc, status(404))
    route(server, rfc8414, json(metadata({ jwks_uri: 'https://issuer.example.com/tenants/acme/jwks' }, issuer)))
    route(server, 'https://issuer.example.com/tenants/acme/jwks', json(jwksOf(key)))
    const verifier = discoveringVerifier({ issuer })
    await expect(verifier.verify(signToken(key, claims({ iss: issuer })))).resolves.toBeDefined()
    expect(log.urls).toEqual([oidc, rfc8414, 'https://issuer.example.com/tenants/acme/jwks'])
  })

  it('does not try RFC 8414 after a network error: a second try would only double the wait', async () => {
    route(server, OIDC_URL, () => HttpResponse.error())
    const fallback = route(server, RFC8414_URL, json(metadata()))
    const cause = await expectKeySetUnavailable(discoveringVerifier().verify(signToken(key)))
    expect(asDiscoveryFailure(cause).cause).toBeInstanceOf(FetchFailedError)
    expect(fallback.hits).toBe(0)
  })

  it('gives up, with key_set_unavailable, when neither location answers', async () => {
    route(server, OIDC_URL, status(404))
    route(server, RFC8414_URL, status(404))
    const cause = asDiscoveryFailure(await expectKeySetUnavailable(discoveringVerifier().verify(signToken(key))))
    expect(cause.cause).toBeInstanceOf(FetchFailedError)
    expect(cause.message).toContain(RFC8414_URL)
    expect(log.urls).toEqual([OIDC_URL, RFC8414_URL])
  })

  it.each([
    ['another host', 'https://evil.example.com/'],
    ['no trailing slash', ISSUER.slice(0, -1)],
    ['other case', ISSUER.toUpperCase()],
    ['a path added', `${ISSUER}tenant`],
    ['no issuer', undefined],
    ['a non-string issuer', ['https://issuer.example.com/']],
  ])('refuses metadata whose issuer differs from the configured one (%s)', async (_name, issuer) => {
    route(server, OIDC_URL, json(metadata({ issuer })))
    route(server, RFC8414_URL, json(metadata({ issuer })))
    const jwks = route(server, JWKS_URL, json(jwksOf(key)))
    const cause = asDiscoveryFailure(await expectKeySetUnavailable(discoveringVerifier().verify(signToken(key))))
    expect(cause.message).toContain('another issuer')
    expect(jwks.hits).toBe(0)
  })

  it.each([
    ['plain http on a remote host', 'http://issuer.example.com/jwks'],
    ['plain http on a look-alike of localhost', 'http://localhost.example.com/jwks'],
    ['another scheme', 'ftp://issuer.example.com/jwks'],
    ['a relative URL', '/jwks'],
    ['credentials in the URL', 'https://user:pass@issuer.example.com/jwks'],
    ['a fragment', 'https://issuer.example.com/jwks#keys'],
    ['no jwks_uri', undefined],
    ['a non-string jwks_uri', { href: JWKS_URL }],
  ])('refuses a jwks_uri that is %s, and never requests it', async (_name, jwksUri) => {
    route(server, OIDC_URL, json(metadata({ jwks_uri: jwksUri })))
    const cause = asDiscoveryFailure(await expectKeySetUnavailable(discoveringVerifier().verify(signToken(key))))
    expect(cause.message).toContain('jwks_uri')
    expect(log.urls).toEqual([OIDC_URL])
  })

  it('refuses a plain http jwks_uri on a loopback host from a remote https issuer (no pointing us at our own ports)', async () => {
    const loopback = 'http://127.0.0.1:9/jwks'
    route(server, OIDC_URL, json(metadata({ jwks_uri: loopback })))
    route(server, loopback, json(jwksOf(key)))
    await expectKeySetUnavailable(discoveringVerifier().verify(signToken(key)))
    expect(log.urls).toEqual([OIDC_URL])
  })

  it('accepts a plain http jwks_uri on loopback for an issuer that is itself on loopback', async () => {
    const issuer = 'http://127.0.0.1:9'
    const loopback = 'http://127.0.0.1:9/jwks'
    route(server, `${issuer}/.well-known/openid-configuration`, json(metadata({ jwks_uri: loopback }, issuer)))
    route(server, loopback, json(jwksOf(key)))
    const verifier = createVerifier({ issuer, audience: AUDIENCE })
    await expect(verifier.verify(signToken(key, claims({ iss: issuer })))).resolves.toBeDefined()
  })

  it.each([
    ['an array', [metadata()]],
    ['a string', 'https://issuer.example.com/'],
    ['null', null],
  ])('refuses metadata that is %s', async (_name, document) => {
    route(server, OIDC_URL, json(document))
    const cause = asDiscoveryFailure(await expectKeySetUnavailable(discoveringVerifier().verify(signToken(key))))
    expect(cause.message).toContain('not a json object')
    expect(log.urls).toEqual([OIDC_URL])
  })

  it('backs off after a failed discovery: an immediate retry requests nothing', async () => {
    const oidc = route(server, OIDC_URL, status(500))
    const fallback = route(server, RFC8414_URL, status(500))
    const verifier = discoveringVerifier()
    await expectKeySetUnavailable(verifier.verify(signToken(key)))
    oidc.answer(json(metadata()))
    await expectKeySetUnavailable(verifier.verify(signToken(key)))
    expect(oidc.hits).toBe(1)
    expect(fallback.hits).toBe(1)
  })

  it('with several issuers, discovers each one separately and fetches nothing for an unknown issuer', async () => {
    const other = 'https://other.example.com/'
    const otherKey = makeKey('ES256', 'other-key')
    route(server, OIDC_URL, json(metadata()))
    route(server, JWKS_URL, json(jwksOf(key)))
    route(server, 'https://other.example.com/.well-known/openid-configuration', json(metadata({ jwks_uri: 'https://other.example.com/keys' }, other)))
    route(server, 'https://other.example.com/keys', json(jwksOf(otherKey)))
    const verifier = discoveringVerifier({ issuer: [ISSUER, other] })

    await expectCode(verifier.verify(signToken(key, claims({ iss: 'https://unknown.example.com/' }))), 'issuer_mismatch')
    expect(log.urls).toEqual([])
    await expect(verifier.verify(signToken(key))).resolves.toBeDefined()
    await expect(verifier.verify(signToken(otherKey, claims({ iss: other })))).resolves.toBeDefined()
    // A key of one issuer does not verify the tokens of the other.
    await expectCode(verifier.verify(signToken(otherKey, claims({ iss: ISSUER }))), 'key_not_found')
    expect(log.urls).toEqual([OIDC_URL, JWKS_URL, 'https://other.example.com/.well-known/openid-configuration', 'https://other.example.com/keys', JWKS_URL])
  })

  it('fails a discovery that hangs within fetchTimeoutMs', async () => {
    route(server, OIDC_URL, async () => {
      await delay('infinite')
      return HttpResponse.json(metadata())
    })
    const started = performance.now()
    const cause = asDiscoveryFailure(await expectKeySetUnavailable(discoveringVerifier({ fetchTimeoutMs: 100 }).verify(signToken(key))))
    expect(performance.now() - started).toBeLessThan(3_000)
    expect((cause.cause as FetchFailedError).failure).toBe('timeout')
    expect(log.urls).toEqual([OIDC_URL])
  })
})

describe('metadataUrls', () => {
  it.each([
    ['https://issuer.example.com', 'https://issuer.example.com/.well-known/openid-configuration', 'https://issuer.example.com/.well-known/oauth-authorization-server'],
    ['https://issuer.example.com/', 'https://issuer.example.com/.well-known/openid-configuration', 'https://issuer.example.com/.well-known/oauth-authorization-server'],
    [
      'https://issuer.example.com/realms/a',
      'https://issuer.example.com/realms/a/.well-known/openid-configuration',
      'https://issuer.example.com/.well-known/oauth-authorization-server/realms/a',
    ],
    [
      'https://issuer.example.com:8443/realms/a/',
      'https://issuer.example.com:8443/realms/a/.well-known/openid-configuration',
      'https://issuer.example.com:8443/.well-known/oauth-authorization-server/realms/a',
    ],
  ])('for %s: %s, then %s', (issuer, oidc, rfc8414) => {
    expect(metadataUrls(new URL(issuer))).toEqual([oidc, rfc8414])
  })
})

describe('discoverJwksUri', () => {
  it('refuses an issuer that is not https (or loopback http) without fetching', async () => {
    const fetchFn = vi.fn<FetchFunction>()
    for (const issuer of ['http://issuer.example.com/', 'not a url', 'https://user:pw@issuer.example.com/']) {
      await expect(discoverJwksUri(issuer, LIMITS, fetchFn)).rejects.toBeInstanceOf(DiscoveryFailedError)
    }
    expect(fetchFn).not.toHaveBeenCalled()
  })

  it('returns the jwks_uri, normalised', async () => {
    route(server, OIDC_URL, json(metadata({ jwks_uri: 'HTTPS://Issuer.Example.com:443/jwks' })))
    await expect(discoverJwksUri(ISSUER, LIMITS, (url, init) => fetch(url, init))).resolves.toBe(JWKS_URL)
  })
})

describe('discoveryLocator', () => {
  function provider() {
    let jwksUri = JWKS_URL
    let up = true
    const fetchFn = vi.fn<FetchFunction>(() =>
      Promise.resolve(up ? Response.json(metadata({ jwks_uri: jwksUri })) : new Response(null, { status: 503 })),
    )
    return {
      fetchFn,
      setJwksUri: (uri: string) => (jwksUri = uri),
      setUp: (value: boolean) => (up = value),
    }
  }

  it('remembers the jwks_uri for maxAgeMs, then discovers it again', async () => {
    const idp = provider()
    let t = 0
    const locate = discoveryLocator(ISSUER, 1_000, LIMITS, idp.fetchFn, () => t)
    await expect(locate()).resolves.toBe(JWKS_URL)
    t = 999
    idp.setJwksUri('https://issuer.example.com/jwks-2')
    await expect(locate()).resolves.toBe(JWKS_URL)
    expect(idp.fetchFn).toHaveBeenCalledTimes(1)
    t = 1_000
    await expect(locate()).resolves.toBe('https://issuer.example.com/jwks-2')
    expect(idp.fetchFn).toHaveBeenCalledTimes(2)
  })

  it('keeps the last jwks_uri found when a later discovery fails', async () => {
    const idp = provider()
    let t = 0
    const locate = discoveryLocator(ISSUER, 1_000, LIMITS, idp.fetchFn, () => t)
    await locate()
    idp.setUp(false)
    t = 5_000
    await expect(locate()).resolves.toBe(JWKS_URL)
    // Both locations were tried.
    expect(idp.fetchFn).toHaveBeenCalledTimes(3)
  })

  it('rejects while no discovery has ever succeeded', async () => {
    const idp = provider()
    idp.setUp(false)
    const locate = discoveryLocator(ISSUER, 1_000, LIMITS, idp.fetchFn, () => 0)
    await expect(locate()).rejects.toBeInstanceOf(DiscoveryFailedError)
    idp.setUp(true)
    await expect(locate()).resolves.toBe(JWKS_URL)
  })
})
