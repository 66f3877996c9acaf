import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createVerifier, InvalidTokenError, type VerifierOptions } from 'bearer-guard'
import { createApp as createExpressApp } from '../examples/express.js'
import { createApp as createFastifyApp } from '../examples/fastify.js'
import { createApp as createKoaApp } from '../examples/koa.js'
import { startLocalIssuer, type LocalIssuer } from '../examples/support/local-issuer.js'

// End to end: real tokens from a real authorization server (oidc-provider on 127.0.0.1), keys found
// through OpenID Connect discovery, and the three example APIs as a user would run them.

let issuer: LocalIssuer
let options: VerifierOptions
let readToken: string
let writeToken: string

beforeAll(async () => {
  issuer = await startLocalIssuer()
  options = { issuer: issuer.issuer, audience: issuer.audience, tokenType: 'at+jwt' }
  readToken = await issuer.token('read:users')
  writeToken = await issuer.token('write:users')
})

afterAll(async () => {
  await issuer.close()
})

describe('core verifier against oidc-provider', () => {
  it('verifies a client-credentials access token in strict RFC 9068 mode', async () => {
    const result = await createVerifier(options).verify(readToken, { scopes: ['read:users'] })
    expect(result.header).toMatchObject({ alg: 'RS256', typ: 'at+jwt' })
    expect(result.payload).toMatchObject({ iss: issuer.issuer, aud: issuer.audience, client_id: 'demo-client' })
    expect(result.scopes).toEqual(['read:users'])
  })

  it('rejects the same token for another audience, and an expired one signed by the real key', async () => {
    const other = createVerifier({ ...options, audience: 'https://other.example.com' })
    await expect(other.verify(readToken)).rejects.toMatchObject({ code: 'audience_mismatch' })
    await expect(createVerifier(options).verify(await issuer.expiredToken('read:users'))).rejects.toMatchObject({ code: 'token_expired' })
  })

  it('rejects a token whose payload was altered', async () => {
    const [header, , signature] = readToken.split('.')
    const payload = Buffer.from(JSON.stringify({ iss: issuer.issuer, aud: issuer.audience, exp: 4102444800, scope: 'write:users' })).toString('base64url')
    const error = await createVerifier(options).verify(`${header}.${payload}.${signature}`).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(InvalidTokenError)
    expect((error as InvalidTokenError).code).toBe('signature_invalid')
  })
})

type Start = () => Promise<{ url: string; close: () => Promise<void> }>

function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(handler)
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise((done) => server.close(() => done())),
      }),
    ),
  )
}

const frameworks: [string, Start][] = [
  ['express', () => serve(createExpressApp(options))],
  ['koa', () => serve(createKoaApp(options).callback())],
  [
    'fastify',
    async () => {
      const app = await createFastifyApp(options)
      return { url: await app.listen({ port: 0, host: '127.0.0.1' }), close: () => app.close() }
    },
  ],
]

describe.each(frameworks)('the %s example API with real tokens', (_name, start) => {
  let api: Awaited<ReturnType<Start>>
  beforeAll(async () => {
    api = await start()
  })
  afterAll(async () => {
    await api.close()
  })

  const call = (method: string, path: string, token?: string) =>
    fetch(`${api.url}${path}`, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })

  it('serves the public route to anyone', async () => {
    expect((await call('GET', '/public')).status).toBe(200)
  })

  it('answers 401 with a bare Bearer challenge without a token', async () => {
    const response = await call('GET', '/users')
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer')
  })

  it('lets a read token read, and refuses it writing with 403 and the scope', async () => {
    expect((await call('GET', '/users', readToken)).status).toBe(200)
    const write = await call('POST', '/users', readToken)
    expect(write.status).toBe(403)
    expect(write.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="write:users"',
    )
    expect((await call('POST', '/users', writeToken)).status).toBe(201)
  })

  it('shows the caller on /me', async () => {
    const response = await call('GET', '/me', readToken)
    expect(await response.json()).toEqual({ subject: 'demo-client', scopes: ['read:users'] })
  })

  it('answers 401 invalid_token for an expired token and never echoes it', async () => {
    const expired = await issuer.expiredToken('read:users')
    const response = await call('GET', '/users', expired)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", error_description="the token has expired (exp claim)"')
    expect(await response.text()).not.toContain(expired.split('.')[2])
  })
})
