import type { AddressInfo } from 'node:net'
import Router from '@koa/router'
import Koa from 'koa'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  BearerError,
  createVerifier,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
} from 'bearer-guard'
import { requireAnyScope, requireAuth, requireScopes } from 'bearer-guard/koa'
import {
  CHALLENGE,
  describeAdapterContract,
  expiredToken,
  get,
  getJson,
  h2Get,
  rawGet,
  REALM,
  serve,
  tokenWith,
  verifierOptions,
  type RunningServer,
} from './support/app-helpers.js'

const verifier = createVerifier(verifierOptions)

/** The routes of the adapter contract. */
function contractRouter(): Router {
  const router = new Router()
  router.get('/me', requireAuth(verifier), (ctx) => {
    ctx.body = { sub: ctx.state.auth?.payload.sub, scopes: ctx.state.auth?.scopes }
  })
  router.get('/users', requireAuth(verifier), requireScopes('read:users', 'write:users'), (ctx) => {
    ctx.body = { ok: true }
  })
  router.get('/any', requireAuth(verifier), requireAnyScope('admin', 'write:users'), (ctx) => {
    ctx.body = { ok: true }
  })
  router.get('/optional', requireAuth(verifier, { optional: true }), (ctx) => {
    const { auth } = ctx.state
    ctx.body = auth === undefined ? { anonymous: true } : { sub: auth.payload.sub }
  })
  // Options passed directly: the adapter builds its own verifier, with a realm.
  router.get('/realm/me', requireAuth({ ...verifierOptions, realm: REALM }), (ctx) => {
    ctx.body = { sub: ctx.state.auth?.payload.sub, scopes: ctx.state.auth?.scopes }
  })
  return router
}

function appWith(router: Router): Koa {
  const app = new Koa()
  app.use(router.routes()).use(router.allowedMethods())
  return app
}

describeAdapterContract('koa', async () => {
  const server = await serve(appWith(contractRouter()).callback())
  return { url: server.url, realmUrl: `${server.url}/realm`, close: server.close }
})

describe('koa: default error handling', () => {
  let server: RunningServer
  const errors: unknown[] = []

  beforeAll(async () => {
    const app = appWith(contractRouter())
    app.on('error', (error: unknown) => errors.push(error))
    server = await serve(app.callback())
  })
  afterAll(async () => {
    await server.close()
  })

  it('answers with the status and challenge, and a body that never holds the token', async () => {
    const token = expiredToken()
    const answer = await get(`${server.url}/me`, `Bearer ${token}`)
    expect(answer).toMatchObject({ status: 401, challenge: CHALLENGE.expired })
    expect(answer.body).not.toContain(token)
    // The errors set `expose`, so Koa sends their fixed, token-free message.
    expect(answer.body).toBe('the token has expired (exp claim)')
    expect(errors.at(-1)).toBeInstanceOf(InvalidTokenError)
  })

  it('does not log client errors to the console as server errors', async () => {
    const app = appWith(contractRouter())
    const own = await serve(app.callback())
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    try {
      expect((await get(`${own.url}/me`)).status).toBe(401)
      expect((await get(`${own.url}/me`, `Bearer ${expiredToken()}`)).status).toBe(401)
      expect((await get(`${own.url}/users`, `Bearer ${tokenWith()}`)).status).toBe(403)
      expect(consoleError).not.toHaveBeenCalled()
    } finally {
      consoleError.mockRestore()
      await own.close()
    }
  })
})

describe('koa: with an application error middleware', () => {
  const seen: unknown[] = []
  let server: RunningServer

  beforeAll(async () => {
    const app = new Koa()
    app.use(async (ctx, next) => {
      try {
        await next()
      } catch (error) {
        seen.push(error)
        if (!(error instanceof BearerError)) throw error
        ctx.status = error.status
        ctx.set(error.headers)
        ctx.body = { code: error.code, error: error.error }
      }
    })
    const router = contractRouter()
    app.use(router.routes()).use(router.allowedMethods())
    server = await serve(app.callback())
  })
  afterAll(async () => {
    await server.close()
  })

  function lastError(): unknown {
    expect(seen.length).toBeGreaterThan(0)
    return seen.at(-1)
  }

  it('catches a MissingTokenError for a request without credentials', async () => {
    const answer = await get(`${server.url}/me`)
    expect(answer).toMatchObject({ status: 401, challenge: CHALLENGE.missing })
    expect(JSON.parse(answer.body)).toEqual({ code: 'credentials_missing', error: null })
    expect(lastError()).toBeInstanceOf(MissingTokenError)
  })

  it('catches an InvalidTokenError with code token_expired for an expired token', async () => {
    const answer = await get(`${server.url}/me`, `Bearer ${expiredToken()}`)
    expect(answer).toMatchObject({ status: 401, challenge: CHALLENGE.expired })
    expect(JSON.parse(answer.body)).toEqual({ code: 'token_expired', error: 'invalid_token' })
    const error = lastError()
    expect(error).toBeInstanceOf(InvalidTokenError)
    expect(error).toMatchObject({ status: 401, code: 'token_expired' })
  })

  it('catches an InvalidRequestError for duplicated credentials', async () => {
    const answer = await rawGet(`${server.url}/me`, { authorization: [`Bearer ${tokenWith()}`, `Bearer ${tokenWith()}`] })
    expect(answer).toMatchObject({ status: 400, challenge: CHALLENGE.duplicated })
    const error = lastError()
    expect(error).toBeInstanceOf(InvalidRequestError)
    expect(error).toMatchObject({ status: 400, code: 'credentials_duplicated' })
  })

  it('catches an InsufficientScopeError carrying the required scopes', async () => {
    const answer = await get(`${server.url}/any`, `Bearer ${tokenWith('read:users')}`)
    expect(answer).toMatchObject({ status: 403, challenge: CHALLENGE.insufficient('admin write:users') })
    const error = lastError()
    expect(error).toBeInstanceOf(InsufficientScopeError)
    expect(error).toMatchObject({ status: 403, code: 'scope_insufficient', requiredScopes: ['admin', 'write:users'] })
  })
})

describe('koa: placement', () => {
  let server: RunningServer

  beforeAll(async () => {
    const app = new Koa()
    const router = new Router()
    router.get('/public', (ctx) => {
      ctx.body = { auth: ctx.state.auth ?? null }
    })
    router.get('/scope-only', requireScopes('read:users'), (ctx) => {
      ctx.body = { ok: true }
    })
    // Guarding a whole nested router.
    const api = new Router({ prefix: '/api' })
    api.use(requireAuth(verifier))
    api.get('/me', (ctx) => {
      ctx.body = { sub: ctx.state.auth?.payload.sub }
    })
    app.use(router.routes()).use(api.routes())
    server = await serve(app.callback())
  })
  afterAll(async () => {
    await server.close()
  })

  it('leaves ctx.state.auth undefined on unguarded routes', async () => {
    const answer = await get(`${server.url}/public`, `Bearer ${tokenWith()}`)
    expect(JSON.parse(answer.body)).toEqual({ auth: null })
  })

  it('guards every route of a router that uses requireAuth', async () => {
    expect((await get(`${server.url}/api/me`)).status).toBe(401)
    expect(await getJson(`${server.url}/api/me`)).toEqual({ sub: 'user-1' })
  })

  it('answers 401 from requireScopes used without requireAuth, never 200', async () => {
    const answer = await get(`${server.url}/scope-only`, `Bearer ${tokenWith()}`)
    expect(answer.status).toBe(401)
    expect(answer.challenge).toBe(CHALLENGE.missing)
  })
})

describe('koa: over HTTP/2', () => {
  it('authenticates requests of the HTTP/2 compatibility API (headers read from rawHeaders)', async () => {
    const { createServer } = await import('node:http2')
    const server = createServer(appWith(contractRouter()).callback())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      expect(await h2Get(`${url}/me`)).toMatchObject({ status: 401, challenge: CHALLENGE.missing })
      expect(await h2Get(`${url}/me`, `Bearer ${expiredToken()}`)).toMatchObject({ status: 401, challenge: CHALLENGE.expired })
      const answer = await h2Get(`${url}/me`, `Bearer ${tokenWith()}`)
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.body)).toEqual({ sub: 'user-1', scopes: ['read:users'] })
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

describe('koa: a hand-made request object', () => {
  it('without rawHeaders, is read through headersDistinct or headers', async () => {
    const token = tokenWith()
    const context = (req: Record<string, unknown>) => ({ method: 'GET', originalUrl: '/me', req, request: {}, state: {} as Record<string, unknown> })
    const plain = context({ headers: { authorization: `Bearer ${token}` } })
    await requireAuth(verifier)(plain as never, () => Promise.resolve())
    expect(plain.state.auth).toMatchObject({ token })
    const repeated = context({ headersDistinct: { authorization: [`Bearer ${token}`, 'Bearer x'] }, headers: { authorization: `Bearer ${token}` } })
    await expect(requireAuth(verifier)(repeated as never, () => Promise.resolve())).rejects.toMatchObject({ code: 'credentials_duplicated' })
  })
})
