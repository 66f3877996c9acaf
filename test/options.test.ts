import { createHmac, createSecretKey } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createVerifier, InvalidTokenError, type VerifierOptions } from '../src/index.js'
import { AUDIENCE, b64url, claims, ISSUER, jwksOf, makeKey, signToken } from './helpers.js'

const rsa = makeKey('RS256')
const ec = makeKey('ES256')
const SECRET = 's'.repeat(32)
/** A valid configuration with a fixed key set, so that the issuer need not be discoverable. */
const BASE = { issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(rsa) }

/** The TypeError `options` is refused with; fails the test when they are accepted. */
function misconfiguration(options: unknown): TypeError {
  let caught: unknown
  try {
    createVerifier(options as VerifierOptions)
  } catch (error) {
    caught = error
  }
  expect(caught, 'expected the options to be refused').toBeInstanceOf(TypeError)
  return caught as TypeError
}

function expectRefused(options: unknown, option: string, detail?: string): void {
  const error = misconfiguration(options)
  expect(error.message).toContain(`option "${option}"`)
  expect(error.message.startsWith('bearer-guard: ')).toBe(true)
  if (detail !== undefined) expect(error.message).toContain(detail)
}

function without(options: Record<string, unknown>, name: string): Record<string, unknown> {
  const copy = { ...options }
  delete copy[name]
  return copy
}

describe('createVerifier: options object', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'https://issuer.example.com/'],
  ])('refuses %s as options', (_name, options) => {
    expect(misconfiguration(options).message).toBe('bearer-guard: options must be an object')
  })
})

describe('createVerifier: issuer', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['missing', without(BASE, 'issuer')],
    ['a number', { ...BASE, issuer: 42 }],
    ['an object', { ...BASE, issuer: { url: ISSUER } }],
    ['empty', { ...BASE, issuer: '' }],
    ['an empty list', { ...BASE, issuer: [] }],
    ['a list with an empty string', { ...BASE, issuer: [ISSUER, ''] }],
    ['a list with a number', { ...BASE, issuer: [ISSUER, 7] }],
    ['http on a remote host', { ...BASE, issuer: 'http://idp.example.com' }],
    ['http on a remote host, upper case', { ...BASE, issuer: 'HTTP://IDP.EXAMPLE.COM/' }],
    ['http with a loopback-looking subdomain', { ...BASE, issuer: 'http://localhost.evil.example/' }],
    ['http with a loopback-looking prefix', { ...BASE, issuer: 'http://127.0.0.1.evil.example/' }],
    ['http among https issuers', { ...BASE, issuer: [ISSUER, 'http://idp.example.com/'] }],
    ['http on a remote host with discovery', { issuer: 'http://idp.example.com/', audience: AUDIENCE }],
    ['not a url, with discovery', { issuer: 'my-idp', audience: AUDIENCE }],
    ['not a url among issuers, with discovery', { issuer: [ISSUER, 'my-idp'], audience: AUDIENCE }],
    ['ftp, with discovery', { issuer: 'ftp://idp.example.com/', audience: AUDIENCE }],
    ['a url with credentials, with discovery', { issuer: 'https://user:pass@idp.example.com/', audience: AUDIENCE }],
    ['a url with a fragment, with discovery', { issuer: 'https://idp.example.com/#x', audience: AUDIENCE }],
    ['not a url, with a secret and default algorithms', { issuer: 'my-idp', audience: AUDIENCE, secret: SECRET }],
  ]
  it.each(cases)('refuses an issuer that is %s', (_name, options) => {
    expectRefused(options, 'issuer')
  })

  it.each([
    'http://127.0.0.1:3000/',
    'http://localhost/',
    'http://localhost:8080/realms/test',
    'http://127.1.2.3/',
    'http://[::1]:4000/',
    'https://idp.example.com',
    'https://idp.example.com/tenant/v2.0/',
  ])('accepts %s as a discoverable issuer', (issuer) => {
    expect(() => createVerifier({ issuer, audience: AUDIENCE })).not.toThrow()
  })

  it('accepts several issuers', () => {
    expect(() => createVerifier({ issuer: [ISSUER, 'http://localhost/'], audience: AUDIENCE })).not.toThrow()
  })

  it('accepts an issuer that is not a url when nothing is discovered', () => {
    expect(() => createVerifier({ ...BASE, issuer: 'my-idp' })).not.toThrow()
    expect(() => createVerifier({ issuer: 'my-idp', audience: AUDIENCE, jwksUri: 'https://keys.example.com/jwks' })).not.toThrow()
  })
})

describe('createVerifier: audience', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['missing', without(BASE, 'audience')],
    ['undefined', { ...BASE, audience: undefined }],
    ['an empty list', { ...BASE, audience: [] }],
    ['empty', { ...BASE, audience: '' }],
    ['a list with an empty string', { ...BASE, audience: [AUDIENCE, ''] }],
    ['a number', { ...BASE, audience: 42 }],
    ['a list with a number', { ...BASE, audience: [AUDIENCE, 1] }],
    ['an object', { ...BASE, audience: {} }],
    ['false', { ...BASE, audience: false }],
  ]
  it.each(cases)('refuses an audience that is %s', (_name, options) => {
    expectRefused(options, 'audience')
  })

  it('says that the audience is required, and how to skip the check', () => {
    expectRefused(without(BASE, 'audience'), 'audience', 'is required (pass null explicitly')
    expectRefused({ ...BASE, audience: undefined }, 'audience', 'is required (pass null explicitly')
  })

  it('accepts null, which switches the check off', async () => {
    const verifier = createVerifier({ ...BASE, audience: null })
    await expect(verifier.verify(signToken(rsa, claims({ aud: 'https://anything.example.com' })))).resolves.toBeDefined()
  })
})

describe('createVerifier: key sources', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['jwksUri over plain http', { issuer: ISSUER, audience: AUDIENCE, jwksUri: 'http://keys.example.com/jwks' }, 'jwksUri'],
    ['jwksUri that is not a url', { issuer: ISSUER, audience: AUDIENCE, jwksUri: 'keys.json' }, 'jwksUri'],
    ['jwksUri with credentials', { issuer: ISSUER, audience: AUDIENCE, jwksUri: 'https://u:p@keys.example.com/jwks' }, 'jwksUri'],
    ['jwksUri that is a number', { issuer: ISSUER, audience: AUDIENCE, jwksUri: 443 }, 'jwksUri'],
    ['jwksUri and jwks together', { ...BASE, jwksUri: 'https://keys.example.com/jwks' }, 'jwksUri'],
    ['jwks without keys', { ...BASE, jwks: {} }, 'jwks'],
    ['jwks whose keys is not an array', { ...BASE, jwks: { keys: { 0: rsa.jwk } } }, 'jwks'],
    ['jwks that is an array of keys', { ...BASE, jwks: [rsa.jwk] }, 'jwks'],
    ['jwks that is null', { ...BASE, jwks: null }, 'jwks'],
    ['jwks that is a string', { ...BASE, jwks: JSON.stringify(jwksOf(rsa)) }, 'jwks'],
  ]
  it.each(cases)('refuses %s', (_name, options, option) => {
    expectRefused(options, option)
  })

  it('accepts jwksUri over https and over loopback http', () => {
    expect(() => createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'https://keys.example.com/jwks' })).not.toThrow()
    expect(() => createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'http://127.0.0.1:3000/jwks' })).not.toThrow()
  })
})

describe('createVerifier: algorithms and secret', () => {
  const rsaKey = rsa.privateKey
  const cases: [string, Record<string, unknown>, string][] = [
    ['none', { ...BASE, algorithms: ['none'] }, 'algorithms'],
    ['none among valid ones', { ...BASE, algorithms: ['RS256', 'none'] }, 'algorithms'],
    ['None', { ...BASE, algorithms: ['None'] }, 'algorithms'],
    ['a lower-case name', { ...BASE, algorithms: ['rs256'] }, 'algorithms'],
    ['an unknown name', { ...BASE, algorithms: ['ES256K'] }, 'algorithms'],
    ['an encryption algorithm', { ...BASE, algorithms: ['RSA-OAEP'] }, 'algorithms'],
    ['a prototype name', { ...BASE, algorithms: ['__proto__'] }, 'algorithms'],
    ['an Object method name', { ...BASE, algorithms: ['toString'] }, 'algorithms'],
    ['a number', { ...BASE, algorithms: [256] }, 'algorithms'],
    ['an empty list', { ...BASE, algorithms: [] }, 'algorithms'],
    ['a string instead of a list', { ...BASE, algorithms: 'RS256' }, 'algorithms'],
    ['HS256 without a secret', { ...BASE, algorithms: ['HS256'] }, 'algorithms'],
    ['HS512 without a secret, among others', { ...BASE, algorithms: ['RS256', 'HS512'] }, 'algorithms'],
    ['a secret shorter than 32 bytes', { ...BASE, secret: 's'.repeat(31) }, 'secret'],
    ['a secret of 31 utf-8 bytes in fewer characters', { ...BASE, secret: `${'é'.repeat(15)}s` }, 'secret'],
    ['a short secret with HS256', { ...BASE, secret: 's'.repeat(31), algorithms: ['HS256'] }, 'secret'],
    ['a short secret that no allowed algorithm would use', { ...BASE, secret: 's'.repeat(31), algorithms: ['RS256'] }, 'secret'],
    ['an empty secret', { ...BASE, secret: '' }, 'secret'],
    ['a short Uint8Array secret', { ...BASE, secret: new Uint8Array(16) }, 'secret'],
    ['a short KeyObject secret', { ...BASE, secret: createSecretKey(Buffer.alloc(31, 1)) }, 'secret'],
    ['a 32-byte secret with HS384', { ...BASE, secret: SECRET, algorithms: ['HS384'] }, 'secret'],
    ['a 48-byte secret with HS512', { ...BASE, secret: 's'.repeat(48), algorithms: ['HS256', 'HS512'] }, 'secret'],
    ['a private key as secret', { ...BASE, secret: rsaKey }, 'secret'],
    ['a public key as secret', { ...BASE, secret: ec.publicKey }, 'secret'],
    ['a number as secret', { ...BASE, secret: Number.MAX_SAFE_INTEGER }, 'secret'],
    ['an object as secret', { ...BASE, secret: { key: SECRET } }, 'secret'],
    ['an array of bytes as secret', { ...BASE, secret: Array.from({ length: 32 }, () => 1) }, 'secret'],
  ]
  it.each(cases)('refuses %s', (_name, options, option) => {
    expectRefused(options, option)
  })

  it('says why a key object is refused as secret', () => {
    expectRefused({ ...BASE, secret: rsaKey }, 'secret', 'must be a secret key, not an asymmetric one')
    expectRefused({ ...BASE, secret: ec.publicKey, algorithms: ['ES256'] }, 'secret', 'must be a secret key, not an asymmetric one')
  })

  it('accepts a secret of exactly 32, 48 and 64 bytes for the matching HMAC algorithm', () => {
    const hmacOnly = { issuer: ISSUER, audience: AUDIENCE }
    expect(() => createVerifier({ ...hmacOnly, secret: SECRET, algorithms: ['HS256'] })).not.toThrow()
    expect(() => createVerifier({ ...hmacOnly, secret: 's'.repeat(48), algorithms: ['HS384'] })).not.toThrow()
    expect(() => createVerifier({ ...hmacOnly, secret: Buffer.alloc(64, 1), algorithms: ['HS512'] })).not.toThrow()
    expect(() => createVerifier({ ...BASE, secret: createSecretKey(Buffer.alloc(32, 1)) })).not.toThrow()
    expect(() => createVerifier({ ...BASE, secret: 'é'.repeat(16) })).not.toThrow()
  })

  it('accepts a secret-only configuration with HMAC algorithms and an issuer that is not a url', async () => {
    const verifier = createVerifier({ issuer: 'my-idp', audience: AUDIENCE, secret: SECRET, algorithms: ['HS256'] })
    const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'at+jwt' }))}.${b64url(JSON.stringify(claims({ iss: 'my-idp' })))}`
    const token = `${input}.${b64url(createHmac('sha256', SECRET).update(input).digest())}`
    await expect(verifier.verify(token)).resolves.toBeDefined()
  })

  it('adds only the HMAC algorithms the secret is long enough for by default', async () => {
    const verifier = createVerifier({ ...BASE, secret: 's'.repeat(40) })
    const sign = (alg: 'HS256' | 'HS384', hash: string) => {
      const input = `${b64url(JSON.stringify({ alg }))}.${b64url(JSON.stringify(claims()))}`
      return `${input}.${b64url(createHmac(hash, 's'.repeat(40)).update(input).digest())}`
    }
    await expect(verifier.verify(sign('HS256', 'sha256'))).resolves.toBeDefined()
    await expect(verifier.verify(sign('HS384', 'sha384'))).rejects.toMatchObject({ code: 'algorithm_not_allowed' })
  })
})

describe('createVerifier: numeric limits', () => {
  const cases: [string, unknown][] = [
    ['clockTolerance', NaN],
    ['clockTolerance', -1],
    ['clockTolerance', Infinity],
    ['clockTolerance', -Infinity],
    ['clockTolerance', 301],
    ['clockTolerance', 1000],
    ['clockTolerance', '5'],
    ['clockTolerance', null],
    ['maxTokenLength', 511],
    ['maxTokenLength', 65_537],
    ['maxTokenLength', 1000.5],
    ['maxTokenLength', NaN],
    ['maxTokenLength', '8192'],
    ['maxTokenLength', 0],
    ['maxTokenAge', 0],
    ['maxTokenAge', 31_536_001],
    ['maxTokenAge', NaN],
    ['fetchTimeoutMs', 99],
    ['fetchTimeoutMs', 60_001],
    ['fetchTimeoutMs', 100.5],
    ['fetchTimeoutMs', NaN],
    ['fetchTimeoutMs', Infinity],
    ['maxResponseBytes', 1023],
    ['maxResponseBytes', 10_485_761],
    ['jwksMaxKeys', 0],
    ['jwksMaxKeys', 1001],
    ['jwksMaxKeys', 1.5],
    ['jwksMaxAgeMs', 999],
    ['jwksMaxAgeMs', 86_400_001],
    ['jwksCooldownMs', -1],
    ['jwksCooldownMs', 3_600_001],
    ['jwksStaleMaxAgeMs', -1],
    ['jwksStaleMaxAgeMs', 86_400_001],
  ]
  it.each(cases)('refuses %s = %s', (option, value) => {
    expectRefused({ ...BASE, [option]: value }, option)
  })

  it.each([
    ['clockTolerance', 0],
    ['clockTolerance', 300],
    ['clockTolerance', 2.5],
    ['maxTokenLength', 512],
    ['maxTokenLength', 65_536],
    ['maxTokenAge', 1],
    ['fetchTimeoutMs', 100],
    ['fetchTimeoutMs', 60_000],
    ['maxResponseBytes', 1024],
    ['jwksMaxKeys', 1],
    ['jwksMaxKeys', 1000],
    ['jwksCooldownMs', 0],
    ['jwksStaleMaxAgeMs', 0],
  ])('accepts %s = %s', (option, value) => {
    expect(() => createVerifier({ ...BASE, [option]: value })).not.toThrow()
  })

  it('applies maxTokenLength before anything is decoded', async () => {
    const token = signToken(rsa)
    await expect(createVerifier({ ...BASE, maxTokenLength: token.length }).verify(token)).resolves.toBeDefined()
    const error = await createVerifier({ ...BASE, maxTokenLength: 512 })
      .verify(`${token}${'A'.repeat(600)}`)
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(InvalidTokenError)
    expect((error as InvalidTokenError).code).toBe('token_too_large')
  })
})

describe('createVerifier: other options', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['tokenType JWT', { ...BASE, tokenType: 'JWT' }, 'tokenType'],
    ['tokenType at+JWT', { ...BASE, tokenType: 'at+JWT' }, 'tokenType'],
    ['tokenType application/at+jwt', { ...BASE, tokenType: 'application/at+jwt' }, 'tokenType'],
    ['tokenType empty', { ...BASE, tokenType: '' }, 'tokenType'],
    ['tokenType null', { ...BASE, tokenType: null }, 'tokenType'],
    ['tokenLocations empty', { ...BASE, tokenLocations: [] }, 'tokenLocations'],
    ['tokenLocations as a string', { ...BASE, tokenLocations: 'header' }, 'tokenLocations'],
    ['tokenLocations with cookie', { ...BASE, tokenLocations: ['header', 'cookie'] }, 'tokenLocations'],
    ['tokenLocations with Header', { ...BASE, tokenLocations: ['Header'] }, 'tokenLocations'],
    ['requiredClaims with a number', { ...BASE, requiredClaims: [1] }, 'requiredClaims'],
    ['requiredClaims with an empty name', { ...BASE, requiredClaims: [''] }, 'requiredClaims'],
    ['requiredClaims as an object', { ...BASE, requiredClaims: { sub: true } }, 'requiredClaims'],
    ['realm as a number', { ...BASE, realm: 42 }, 'realm'],
    ['realm with a character a header cannot carry', { ...BASE, realm: 'caf\u00e9 \u2603' }, 'realm'],
    ['realm with a newline', { ...BASE, realm: 'a\r\nSet-Cookie: x=1' }, 'realm'],
    ['a misspelt option', { ...BASE, tokentype: 'at+jwt' }, 'tokentype'],
    ['jwksMinAgeMs above jwksMaxAgeMs', { ...BASE, jwksMaxAgeMs: 10_000, jwksMinAgeMs: 20_000 }, 'jwksMinAgeMs'],
    ['jwksMinAgeMs negative', { ...BASE, jwksMinAgeMs: -1 }, 'jwksMinAgeMs'],
    ['tokenCacheSize negative', { ...BASE, tokenCacheSize: -1 }, 'tokenCacheSize'],
    ['maxJsonDepth too small', { ...BASE, maxJsonDepth: 1 }, 'maxJsonDepth'],
    ['offloadSignatureChecks as a string', { ...BASE, offloadSignatureChecks: 'yes' }, 'offloadSignatureChecks'],
    ['maxJsonDepth too large', { ...BASE, maxJsonDepth: 65 }, 'maxJsonDepth'],
    ['tokenCacheSize fractional', { ...BASE, tokenCacheSize: 1.5 }, 'tokenCacheSize'],
    ['tokenCacheSize too large', { ...BASE, tokenCacheSize: 2_000_000 }, 'tokenCacheSize'],
    ['an unknown option', { ...BASE, maxTokenAgee: 60 }, 'maxTokenAgee'],
    ['fetch as a string', { ...BASE, fetch: 'fetch' }, 'fetch'],
  ]
  it.each(cases)('refuses %s', (_name, options, option) => {
    expectRefused(options, option)
  })

  it('applies maxJsonDepth to the claims', async () => {
    const nested = claims({ ctx: { a: { b: { c: 1 } } } })
    await expect(createVerifier({ ...BASE, maxJsonDepth: 4 }).verify(signToken(rsa, nested))).resolves.toBeDefined()
    await expect(createVerifier({ ...BASE, maxJsonDepth: 3 }).verify(signToken(rsa, nested))).rejects.toMatchObject({ code: 'token_malformed' })
  })

  it('refuses a static jwks with no key usable under the allowed algorithms, saying why', () => {
    expectRefused({ ...BASE, jwks: { keys: [{ ...rsa.jwk, use: 'enc' }] } }, 'jwks', 'not_for_signatures')
    expectRefused({ ...BASE, jwks: { keys: [{ kty: 'oct', k: 'AAAA' }] } }, 'jwks', 'symmetric_key')
    expectRefused({ ...BASE, algorithms: ['ES256'] }, 'jwks', 'algorithm_not_allowed')
    expectRefused({ ...BASE, jwks: { keys: [] } }, 'jwks', 'no keys')
  })

  it('accepts an empty requiredClaims list, meaning none beyond exp', async () => {
    await expect(createVerifier({ ...BASE, requiredClaims: [] }).verify(signToken(rsa))).resolves.toBeDefined()
  })

  it('accepts tokenType at+jwt and every token location', () => {
    expect(() => createVerifier({ ...BASE, tokenType: 'at+jwt', tokenLocations: ['header', 'body', 'query'] })).not.toThrow()
  })

  it('applies tokenLocations', async () => {
    const token = signToken(rsa)
    const request = { method: 'GET', url: `/x?access_token=${token}`, headers: {} }
    await expect(createVerifier({ ...BASE, tokenLocations: ['query'] }).authenticate(request)).resolves.toBeDefined()
    await expect(createVerifier(BASE).authenticate(request)).rejects.toMatchObject({ code: 'credentials_missing' })
  })
})
