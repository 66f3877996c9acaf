import { describe, expect, it } from 'vitest'
import {
  BearerError,
  createVerifier,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  isBearerError,
  MissingTokenError,
} from '../src/index.js'
import { AUDIENCE, b64url, claims, ISSUER, jwksOf, makeKey, signToken } from './helpers.js'

const rsa = makeKey('RS256')

describe('MissingTokenError', () => {
  it('is a 401 without an error attribute', () => {
    const error = new MissingTokenError()
    expect(error.status).toBe(401)
    expect(error.error).toBeNull()
    expect(error.code).toBe('credentials_missing')
    expect(error.name).toBe('MissingTokenError')
    expect(error.message).toBe('no bearer token in the request')
    expect(error.realm).toBeUndefined()
    expect(error.wwwAuthenticate).toBe('Bearer')
    expect(error.headers).toEqual({ 'WWW-Authenticate': 'Bearer' })
  })

  it('carries only the realm when one is set', () => {
    expect(new MissingTokenError({ realm: 'api' }).wwwAuthenticate).toBe('Bearer realm="api"')
    expect(new MissingTokenError({ realm: 'say "hi"' }).headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="say \\"hi\\""' })
  })
})

describe('InvalidRequestError', () => {
  it('is a 400 invalid_request with its description', () => {
    const error = new InvalidRequestError('credentials_duplicated', 'the request carries more than one access token')
    expect(error.status).toBe(400)
    expect(error.error).toBe('invalid_request')
    expect(error.code).toBe('credentials_duplicated')
    expect(error.name).toBe('InvalidRequestError')
    expect(error.wwwAuthenticate).toBe('Bearer error="invalid_request", error_description="the request carries more than one access token"')
    const malformed = new InvalidRequestError('credentials_malformed', 'bad', { realm: 'api' })
    expect(malformed.code).toBe('credentials_malformed')
    expect(malformed.headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="api", error="invalid_request", error_description="bad"' })
  })
})

describe('InvalidTokenError', () => {
  it('is a 401 invalid_token with its description', () => {
    const error = new InvalidTokenError('token_expired', 'the token has expired')
    expect(error.status).toBe(401)
    expect(error.error).toBe('invalid_token')
    expect(error.code).toBe('token_expired')
    expect(error.name).toBe('InvalidTokenError')
    expect(error.message).toBe('the token has expired')
    expect(error.wwwAuthenticate).toBe('Bearer error="invalid_token", error_description="the token has expired"')
    expect(error.headers).toEqual({ 'WWW-Authenticate': error.wwwAuthenticate })
  })

  it('sanitizes a description with forbidden characters', () => {
    const error = new InvalidTokenError('token_malformed', 'bad "quoted" \\ value\r\n')
    expect(error.message).toBe('bad "quoted" \\ value\r\n')
    expect(error.wwwAuthenticate).toBe('Bearer error="invalid_token", error_description="bad quoted  value"')
  })
})

describe('InsufficientScopeError', () => {
  it('is a 403 insufficient_scope with the required scopes', () => {
    const error = new InsufficientScopeError(['read:users', 'admin'])
    expect(error.status).toBe(403)
    expect(error.error).toBe('insufficient_scope')
    expect(error.code).toBe('scope_insufficient')
    expect(error.name).toBe('InsufficientScopeError')
    expect(error.requiredScopes).toEqual(['read:users', 'admin'])
    expect(error.wwwAuthenticate).toBe(
      'Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="read:users admin"',
    )
    expect(new InsufficientScopeError(['a'], { realm: 'api' }).wwwAuthenticate).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="the token lacks a required scope", scope="a"',
    )
  })

  it('cannot be made to inject attributes through a scope name', () => {
    const error = new InsufficientScopeError(['a", error="x', 'b\\'])
    expect(error.wwwAuthenticate).toBe(
      'Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="a, error=x b"',
    )
  })
})

describe('every error class', () => {
  const errors: BearerError[] = [
    new MissingTokenError(),
    new InvalidRequestError('credentials_malformed', 'm'),
    new InvalidTokenError('signature_invalid', 'm'),
    new InsufficientScopeError(['a']),
  ]

  it('is an Error and a BearerError, recognized by isBearerError', () => {
    for (const error of errors) {
      expect(error).toBeInstanceOf(Error)
      expect(error).toBeInstanceOf(BearerError)
      expect(isBearerError(error)).toBe(true)
      expect(typeof error.stack).toBe('string')
      expect(String(error)).toBe(`${error.name}: ${error.message}`)
    }
    expect(errors[0]).not.toBeInstanceOf(InvalidTokenError)
    expect(errors[2]).not.toBeInstanceOf(InvalidRequestError)
  })

  it('isBearerError recognizes an error from another copy of the library by its brand', () => {
    class ForeignCopyError extends Error {}
    const foreign = new ForeignCopyError('the token has expired')
    Object.defineProperty(foreign, Symbol.for('bearer-guard.error'), { value: true })
    expect(isBearerError(foreign)).toBe(true)
  })

  it('isBearerError refuses look-alikes', () => {
    for (const value of [
      new Error('x'),
      new TypeError('x'),
      { name: 'InvalidTokenError', status: 401, code: 'token_expired', error: 'invalid_token', wwwAuthenticate: 'Bearer' },
      null,
      undefined,
      'InvalidTokenError',
    ]) {
      expect(isBearerError(value)).toBe(false)
    }
  })

  it('keeps a cause only when one is given', () => {
    const cause = new Error('underlying')
    expect(new InvalidTokenError('key_set_unavailable', 'm', { cause }).cause).toBe(cause)
    expect(new MissingTokenError({ cause }).cause).toBe(cause)
    for (const error of errors) expect('cause' in error).toBe(false)
  })

  it('follows a realm set after construction, as the verifier does', () => {
    const error = new InvalidTokenError('token_expired', 'the token has expired')
    error.realm = 'api'
    expect(error.wwwAuthenticate).toBe('Bearer realm="api", error="invalid_token", error_description="the token has expired"')
    expect(error.headers['WWW-Authenticate']).toBe(error.wwwAuthenticate)
  })
})

describe('errors from a verifier', () => {
  const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(rsa), realm: 'api "v2"' })
  const now = Math.floor(Date.now() / 1000)
  // Distinctive claim values, so that finding one in a message cannot be a coincidence.
  const secrets = {
    sub: 'subject-9f1c2e',
    client_id: 'client-7ab3d0',
    jti: 'jti-5e8d41',
    scope: 'scope-c0ffee',
    tenant: 'tenant-d15ea5e',
  }

  async function failure(promise: Promise<unknown>): Promise<BearerError> {
    const error = await promise.then(
      () => {
        throw new Error('expected a rejection, but the token was accepted')
      },
      (caught: unknown) => caught,
    )
    expect(isBearerError(error)).toBe(true)
    return error as BearerError
  }

  function expectNoLeak(error: BearerError, token: string): void {
    const texts = [error.message, error.wwwAuthenticate, String(error), error.stack ?? '', JSON.stringify(error)]
    for (const text of texts) {
      expect(text).not.toContain(token)
      for (const segment of token.split('.')) if (segment.length > 0) expect(text).not.toContain(segment)
      for (const value of Object.values(secrets)) expect(text).not.toContain(value)
    }
  }

  const cases: [string, () => string, string][] = [
    ['expired', () => signToken(rsa, claims({ ...secrets, exp: now - 600, iat: now - 900 })), 'token_expired'],
    ['for another audience', () => signToken(rsa, claims({ ...secrets, aud: 'https://other.example.com/aud-31337' })), 'audience_mismatch'],
    ['from another issuer', () => signToken(rsa, claims({ ...secrets, iss: 'https://evil.example.com/iss-31337' })), 'issuer_mismatch'],
    ['with a forged payload', () => {
      const [header, , signature] = signToken(rsa, claims(secrets)).split('.')
      return `${header}.${b64url(JSON.stringify(claims({ ...secrets, sub: 'admin-31337' })))}.${signature}`
    }, 'signature_invalid'],
    ['with a numeric sub', () => signToken(rsa, claims({ ...secrets, sub: 314159265 })), 'claim_invalid'],
    ['with a duplicate claim', () => signToken(rsa, {}, { rawPayload: JSON.stringify(claims(secrets)).replace('{', '{"sub":"dup-31337",') }), 'token_malformed'],
    ['with a disallowed alg', () => signToken(rsa, claims(secrets), { header: { alg: 'HS256' } }), 'algorithm_not_allowed'],
    ['with an unknown kid', () => signToken(rsa, claims(secrets), { header: { kid: 'kid-31337' } }), 'key_not_found'],
  ]

  it.each(cases)('never show a token %s or its claims', async (_name, makeToken, code) => {
    const token = makeToken()
    const error = await failure(verifier.verify(token))
    expect(error.code).toBe(code)
    expect(error.realm).toBe('api "v2"')
    expect(error.wwwAuthenticate.startsWith('Bearer realm="api \\"v2\\"", error="invalid_token", error_description="')).toBe(true)
    expectNoLeak(error, token)
    for (const value of ['31337', '314159265', 'dup-31337']) expect(error.message).not.toContain(value)
  })

  it('never shows the token of a request', async () => {
    const token = signToken(rsa, claims({ ...secrets, exp: now - 600, iat: now - 900 }))
    const expired = await failure(verifier.authenticate({ headers: { authorization: `Bearer ${token}` } }))
    expect(expired.code).toBe('token_expired')
    expectNoLeak(expired, token)
    const duplicated = await failure(verifier.authenticate({ headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] } }))
    expect(duplicated.code).toBe('credentials_duplicated')
    expectNoLeak(duplicated, token)
    const malformed = await failure(verifier.authenticate({ headers: { authorization: `Bearer ${token} x` } }))
    expect(malformed.code).toBe('credentials_malformed')
    expectNoLeak(malformed, token)
  })

  it('never shows the scopes the token has, only those required', async () => {
    const token = signToken(rsa, claims(secrets))
    const error = await failure(verifier.verify(token, { scopes: ['admin'] }))
    expect(error).toBeInstanceOf(InsufficientScopeError)
    expect(error.wwwAuthenticate).toBe(
      'Bearer realm="api \\"v2\\"", error="insufficient_scope", error_description="the token lacks a required scope", scope="admin"',
    )
    expectNoLeak(error, token)
  })

  it('sets the realm on a missing-token error', async () => {
    const error = await failure(verifier.authenticate({ headers: {} }))
    expect(error).toBeInstanceOf(MissingTokenError)
    expect(error.wwwAuthenticate).toBe('Bearer realm="api \\"v2\\""')
  })
})
