/** The optional verified-token cache (`tokenCacheSize`): what it serves, and when it must not. */
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createVerifier, InsufficientScopeError, type VerifiedToken, type VerifierOptions } from '../src/index.js'
import { VerifiedTokenCache } from '../src/token-cache.js'
import { AUDIENCE, claims, ISSUER, jwksOf, makeKey, signToken } from './helpers.js'
import { json, JWKS_URL, route } from './support/idp.js'

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => {
  server.resetHandlers()
  vi.useRealTimers()
})
afterAll(() => server.close())

const a = makeKey('ES256', 'cache-a')
const b = makeKey('ES256', 'cache-b')
const T0 = Date.UTC(2030, 0, 1)
const nowSeconds = () => Math.floor(Date.now() / 1000)

function staticVerifier(options: Partial<VerifierOptions> = {}) {
  return createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(a), tokenCacheSize: 100, ...options })
}

/** A caching verifier on a remote key set serving key `a` (clock frozen at T0), and a token of `a`. */
function remoteCachingSetup() {
  // `performance` too: key-set ages run on the monotonic clock.
  vi.useFakeTimers({ toFake: ['Date', 'performance'] })
  vi.setSystemTime(T0)
  const jwks = route(server, JWKS_URL, json(jwksOf(a)))
  const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: JWKS_URL, jwksMaxAgeMs: 10_000, tokenCacheSize: 10 })
  return { jwks, verifier, token: signToken(a, claims({ exp: nowSeconds() + 3600 })) }
}

describe('verified-token cache', () => {
  it('is off by default: every call verifies anew', async () => {
    const verifier = staticVerifier({ tokenCacheSize: undefined })
    const token = signToken(a)
    expect(await verifier.verify(token)).not.toBe(await verifier.verify(token))
  })

  it('answers a repeated token with the same frozen result', async () => {
    const verifier = staticVerifier()
    const token = signToken(a)
    const first = await verifier.verify(token)
    expect(await verifier.verify(token)).toBe(first)
    expect(Object.isFrozen(first) && Object.isFrozen(first.payload) && Object.isFrozen(first.header)).toBe(true)
  })

  it('still checks the scopes of each call on a hit', async () => {
    const verifier = staticVerifier()
    const token = signToken(a, claims({ scope: 'read' }))
    await verifier.verify(token)
    await expect(verifier.verify(token, { scopes: ['write'] })).rejects.toBeInstanceOf(InsufficientScopeError)
    await expect(verifier.verify(token, { scopes: ['read'] })).resolves.toBeDefined()
  })

  it('never serves an entry past the token exp', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const verifier = staticVerifier({ clockTolerance: 0 })
    const token = signToken(a, claims({ iat: nowSeconds(), exp: nowSeconds() + 60 }))
    await verifier.verify(token)
    vi.setSystemTime(T0 + 59_999)
    await expect(verifier.verify(token)).resolves.toBeDefined()
    vi.setSystemTime(T0 + 60_000)
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'token_expired' })
  })

  it('never serves an entry past maxTokenAge', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const verifier = staticVerifier({ clockTolerance: 0, maxTokenAge: 30 })
    const token = signToken(a, claims({ iat: nowSeconds(), exp: nowSeconds() + 600 }))
    await verifier.verify(token)
    vi.setSystemTime(T0 + 31_000)
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'token_too_old' })
  })

  it('drops an entry once its key is withdrawn from the JWK Set', async () => {
    const { jwks, verifier, token } = remoteCachingSetup()
    const first = await verifier.verify(token)
    expect(await verifier.verify(token)).toBe(first)
    jwks.answer(json(jwksOf(b)))
    vi.advanceTimersByTime(10_000)
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'key_not_found' })
  })

  it('keeps serving after a refresh that publishes the same key again', async () => {
    const { jwks, verifier, token } = remoteCachingSetup()
    const first = await verifier.verify(token)
    vi.advanceTimersByTime(10_000)
    await verifier.verify(signToken(a)) // refreshes the set: new key objects, same key
    expect(jwks.hits).toBe(2)
    expect(await verifier.verify(token)).toBe(first)
  })

  it('refuses non-string tokens with the usual typed error when the cache is on', async () => {
    const verifier = staticVerifier()
    for (const value of [undefined, null, 42, {}, ['a.b.c']]) {
      await expect(verifier.verify(value as unknown as string)).rejects.toMatchObject({ code: 'token_malformed' })
    }
  })

  it('never caches a failure', async () => {
    const verifier = staticVerifier()
    const token = signToken(a)
    const forged = `${token.slice(0, -4)}AAAA`
    await expect(verifier.verify(forged)).rejects.toMatchObject({ code: 'signature_invalid' })
    await expect(verifier.verify(forged)).rejects.toMatchObject({ code: 'signature_invalid' })
  })

  it('holds at most tokenCacheSize entries, dropping the least recently used', async () => {
    const verifier = staticVerifier({ tokenCacheSize: 2 })
    const tokens = [signToken(a), signToken(a), signToken(a)]
    const results = []
    for (const token of tokens) results.push(await verifier.verify(token))
    expect(await verifier.verify(tokens[2]!)).toBe(results[2])
    expect(await verifier.verify(tokens[0]!)).not.toBe(results[0])
  })
})

describe('verified-token cache: tokens that end alike', () => {
  it('serves an entry only for the exact same token text', async () => {
    const verifier = staticVerifier()
    const token = signToken(a)
    const first = await verifier.verify(token)
    // Same last characters (the signature), another payload: a miss, verified in full, refused.
    const [header, , signature] = token.split('.')
    const other = `${header}.${Buffer.from(JSON.stringify(claims({ sub: 'admin' }))).toString('base64url')}.${signature}`
    await expect(verifier.verify(other)).rejects.toMatchObject({ code: 'signature_invalid' })
    expect(await verifier.verify(token)).toBe(first)
  })
})

describe('VerifiedTokenCache: its index', () => {
  const entryFor = (token: string) => ({ result: { token } as VerifiedToken, expiresAt: Number.MAX_SAFE_INTEGER, keyStillCurrent: () => true })

  it('tells tokens apart by their whole text when their last characters are the same', () => {
    const cache = new VerifiedTokenCache(10)
    const first = 'header.payload-one.SAME-END'
    const second = 'header.payload-two.SAME-END'
    cache.set(first, entryFor(first))
    expect(cache.get(second, 0)).toBeUndefined()
    expect(cache.get(first, 0)?.token).toBe(first)
    cache.set(second, entryFor(second)) // takes the shared index over: the first becomes a miss
    expect(cache.get(first, 0)).toBeUndefined()
    expect(cache.get(second, 0)?.token).toBe(second)
  })

  it('keeps tokens apart that differ only in one of their last characters, or in length', () => {
    const cache = new VerifiedTokenCache(100)
    const base = 'h.p.abcdefghijklmnop'
    const variants = [base, `${base.slice(0, -1)}q`, `${base.slice(0, -7)}X${base.slice(-6)}`, 'h.p.a', 'h.p.ab']
    for (const token of variants) cache.set(token, entryFor(token))
    for (const token of variants) expect(cache.get(token, 0)?.token).toBe(token)
  })
})
