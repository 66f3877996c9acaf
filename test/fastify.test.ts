import type { Http2Server } from 'node:http2'
import Fastify, { type FastifyInstance, type onRequestAsyncHookHandler } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BearerError,
  createVerifier,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  type Verifier,
} from 'bearer-guard'
import bearerGuard, { bearerGuardPlugin } from 'bearer-guard/fastify'
import {
  CHALLENGE,
  describeAdapterContract,
  expiredToken,
  get,
  getJson,
  h2Get,
  rawGet,
  REALM,
  tokenWith,
  verifierOptions,
} from './support/app-helpers.js'

/**
 * Registers the plugin (with verifier options by default) and the routes of the adapter contract.
 * `before` runs before the routes are declared: Fastify binds a route's error handler at declaration.
 */
async function contractApp(
  options: Parameters<typeof bearerGuard>[1] = verifierOptions,
  before: (app: FastifyInstance) => void = () => undefined,
): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(bearerGuard, options)
  before(app)
  app.get('/me', { onRequest: app.requireAuth }, async (request) => ({ sub: request.auth?.payload.sub, scopes: request.auth?.scopes }))
  // requireScopes authenticates by itself when no guard ran before it.
  app.get('/users', { onRequest: app.requireScopes('read:users', 'write:users') }, async () => ({ ok: true }))
  app.get('/any', { onRequest: app.requireAnyScope('admin', 'write:users') }, async () => ({ ok: true }))
  app.get('/optional', { onRequest: app.optionalAuth }, async (request) =>
    request.auth === null ? { anonymous: true } : { sub: request.auth.payload.sub },
  )
  app.get('/public', async (request) => ({ auth: request.auth }))
  return app
}

async function listen(app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' })
}

describeAdapterContract('fastify', async () => {
  const app = await contractApp()
  const realmApp = await contractApp({ ...verifierOptions, realm: REALM })
  const [url, realmUrl] = await Promise.all([listen(app), listen(realmApp)])
  return {
    url,
    realmUrl,
    close: async () => {
      await Promise.all([app.close(), realmApp.close()])
    },
  }
})

describe('fastify: default error handling', () => {
  let app: FastifyInstance
  let url: string
  beforeAll(async () => {
    app = await contractApp()
    url = await listen(app)
  })
  afterAll(async () => {
    await app.close()
  })

  it('replies with the error code in the JSON body, and never the token', async () => {
    const token = expiredToken()
    const answer = await get(`${url}/me`, `Bearer ${token}`)
    expect(answer).toMatchObject({ status: 401, challenge: CHALLENGE.expired })
    expect(JSON.parse(answer.body)).toMatchObject({ statusCode: 401, code: 'token_expired' })
    expect(answer.body).not.toContain(token)
  })

  it('leaves request.auth null on unguarded routes, even with a valid token', async () => {
    expect(await getJson(`${url}/public`)).toEqual({ auth: null })
  })

  it('answers through app.inject too', async () => {
    const response = await app.inject({ method: 'GET', url: '/users', headers: { authorization: `Bearer ${tokenWith('read:users')}` } })
    expect(response.statusCode).toBe(403)
    expect(response.headers['www-authenticate']).toBe(CHALLENGE.insufficient('read:users write:users'))
  })
})

describe('fastify: with an application error handler', () => {
  const seen: unknown[] = []
  let app: FastifyInstance
  let url: string

  beforeAll(async () => {
    app = await contractApp(verifierOptions, (instance) => {
      instance.setErrorHandler((error: unknown, _request, reply) => {
        seen.push(error)
        if (!(error instanceof BearerError)) throw error
        return reply.code(error.status).headers(error.headers).send({ mine: true, code: error.code })
      })
    })
    url = await listen(app)
  })
  afterAll(async () => {
    await app.close()
  })

  function lastError(): unknown {
    expect(seen.length).toBeGreaterThan(0)
    return seen.at(-1)
  }

  it('receives a MissingTokenError for a request without credentials', async () => {
    const answer = await get(`${url}/me`)
    expect(answer).toMatchObject({ status: 401, challenge: CHALLENGE.missing })
    expect(JSON.parse(answer.body)).toEqual({ mine: true, code: 'credentials_missing' })
    expect(lastError()).toBeInstanceOf(MissingTokenError)
  })

  it('receives an InvalidTokenError with code token_expired for an expired token', async () => {
    const answer = await get(`${url}/optional`, `Bearer ${expiredToken()}`)
    expect(answer).toMatchObject({ status: 401, challenge: CHALLENGE.expired })
    const error = lastError()
    expect(error).toBeInstanceOf(InvalidTokenError)
    expect(error).toMatchObject({ status: 401, code: 'token_expired' })
  })

  it('receives an InvalidRequestError for duplicated credentials', async () => {
    const answer = await rawGet(`${url}/me`, { authorization: [`Bearer ${tokenWith()}`, `Bearer ${tokenWith()}`] })
    expect(answer).toMatchObject({ status: 400, challenge: CHALLENGE.duplicated })
    const error = lastError()
    expect(error).toBeInstanceOf(InvalidRequestError)
    expect(error).toMatchObject({ code: 'credentials_duplicated' })
  })

  it('receives an InsufficientScopeError carrying the required scopes', async () => {
    const answer = await get(`${url}/users`, `Bearer ${tokenWith('read:users')}`)
    expect(answer).toMatchObject({ status: 403, challenge: CHALLENGE.insufficient('read:users write:users') })
    const error = lastError()
    expect(error).toBeInstanceOf(InsufficientScopeError)
    expect(error).toMatchObject({ code: 'scope_insufficient', requiredScopes: ['read:users', 'write:users'] })
  })
})

describe('fastify: registered with { verifier }', () => {
  let app: FastifyInstance
  let url: string
  let calls = 0

  beforeAll(async () => {
    const inner = createVerifier(verifierOptions)
    const counting: Verifier = {
      verify: (token, options) => inner.verify(token, options),
      authenticate: (request, options) => {
        calls++
        return inner.authenticate(request, options)
      },
    }
    app = Fastify()
    await app.register(bearerGuardPlugin, { verifier: counting })
    app.get('/users', { onRequest: [app.requireAuth, app.requireScopes('read:users')] }, async (request) => ({
      sub: request.auth?.payload.sub,
    }))
    app.get('/maybe-users', { onRequest: [app.optionalAuth, app.requireScopes('read:users')] }, async () => ({ ok: true }))
    app.get('/me', { onRequest: app.requireAuth }, async (request) => ({ scopes: request.auth?.scopes }))
    url = await listen(app)
  })
  afterAll(async () => {
    await app.close()
  })

  it('uses the given verifier', async () => {
    calls = 0
    expect(await getJson(`${url}/me`, 'a b')).toEqual({ scopes: ['a', 'b'] })
    expect(calls).toBe(1)
  })

  it('verifies once when requireScopes follows requireAuth', async () => {
    calls = 0
    expect(await getJson(`${url}/users`)).toEqual({ sub: 'user-1' })
    expect(calls).toBe(1)
    const answer = await get(`${url}/users`, `Bearer ${tokenWith('other')}`)
    expect(answer).toMatchObject({ status: 403, challenge: CHALLENGE.insufficient('read:users') })
  })

  it('answers 401, not 403 or 200, when requireScopes follows optionalAuth on an anonymous request', async () => {
    const answer = await get(`${url}/maybe-users`)
    expect(answer).toMatchObject({ status: 401, challenge: CHALLENGE.missing })
    expect(await getJson(`${url}/maybe-users`)).toEqual({ ok: true })
  })
})

describe('fastify: plugin encapsulation', () => {
  it('exposes its decorators outside the context it is registered in (fastify-plugin)', async () => {
    const app = Fastify()
    await app.register(bearerGuard, verifierOptions)
    expect(typeof app.requireAuth).toBe('function')
    expect(typeof app.optionalAuth).toBe('function')
    expect(app.hasRequestDecorator('auth')).toBe(true)
    await app.close()
  })

  it('rejects invalid verifier options when registered', async () => {
    const app = Fastify()
    await expect(app.register(bearerGuard, { ...verifierOptions, audience: undefined as unknown as string })).rejects.toThrow(TypeError)
    await app.close()
  })
})

describe('fastify: over HTTP/2 and app.inject', () => {
  it('authenticates HTTP/2 requests (headers read from rawHeaders)', async () => {
    const app = Fastify({ http2: true })
    await app.register(bearerGuard, verifierOptions)
    // The plugin declares its hooks for the default HTTP/1 server types, so an HTTP/2 app needs a cast.
    const requireAuth = app.requireAuth as unknown as onRequestAsyncHookHandler<Http2Server>
    app.get('/me', { onRequest: requireAuth }, async (request) => ({ sub: request.auth?.payload.sub }))
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      expect(await h2Get(`${url}/me`)).toMatchObject({ status: 401, challenge: CHALLENGE.missing })
      expect(await h2Get(`${url}/me`, `Bearer ${expiredToken()}`)).toMatchObject({ status: 401, challenge: CHALLENGE.expired })
      const answer = await h2Get(`${url}/me`, `Bearer ${tokenWith()}`)
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.body)).toEqual({ sub: 'user-1' })
    } finally {
      await app.close()
    }
  })

  it('authenticates injected requests (headers read from rawHeaders)', async () => {
    const app = await contractApp()
    try {
      const ok = await app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${tokenWith()}` } })
      expect(ok.statusCode).toBe(200)
      expect(ok.json()).toEqual({ sub: 'user-1', scopes: ['read:users'] })
      const missing = await app.inject({ method: 'GET', url: '/me' })
      expect(missing.statusCode).toBe(401)
      expect(missing.headers['www-authenticate']).toBe(CHALLENGE.missing)
    } finally {
      await app.close()
    }
  })
})

describe("fastify: Fastify's own registration options", () => {
  it('are not taken for verifier options', async () => {
    const app = Fastify()
    await app.register(bearerGuardPlugin, { ...verifierOptions, prefix: '/api', logLevel: 'warn' } as typeof verifierOptions)
    app.get('/me', { onRequest: app.requireAuth }, async (request) => ({ sub: request.auth?.payload.sub }))
    const response = await app.inject({ url: '/me', headers: { authorization: `Bearer ${tokenWith('read:users')}` } })
    expect(response.statusCode).toBe(200)
    await app.close()
  })
})
