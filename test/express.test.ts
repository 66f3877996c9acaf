import express, { type ErrorRequestHandler, type Express } from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BearerError,
  createVerifier,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
} from 'bearer-guard'
import { requireAnyScope, requireAuth, requireScopes } from 'bearer-guard/express'
import {
  CHALLENGE,
  describeAdapterContract,
  expiredToken,
  get,
  getJson,
  rawGet,
  REALM,
  serve,
  tokenWith,
  verifierOptions,
  type RunningServer,
} from './support/app-helpers.js'

const verifier = createVerifier(verifierOptions)

/** The routes of the adapter contract, on a fresh app. */
function guardedApp(): Express {
  const app = express()
  app.get('/me', requireAuth(verifier), (req, res) => {
    res.json({ sub: req.auth?.payload.sub, scopes: req.auth?.scopes })
  })
  app.get('/users', requireAuth(verifier), requireScopes('read:users', 'write:users'), (_req, res) => {
    res.json({ ok: true })
  })
  app.get('/any', requireAuth(verifier), requireAnyScope('admin', 'write:users'), (_req, res) => {
    res.json({ ok: true })
  })
  app.get('/optional', requireAuth(verifier, { optional: true }), (req, res) => {
    res.json(req.auth === undefined ? { anonymous: true } : { sub: req.auth.payload.sub })
  })
  // Options passed directly: the adapter builds its own verifier, with a realm.
  const realm = express.Router()
  realm.get('/me', requireAuth({ ...verifierOptions, realm: REALM }), (req, res) => {
    res.json({ sub: req.auth?.payload.sub, scopes: req.auth?.scopes })
  })
  app.use('/realm', realm)
  return app
}

describeAdapterContract('express', async () => {
  const server = await serve(guardedApp())
  return { url: server.url, realmUrl: `${server.url}/realm`, close: server.close }
})

describe('express: with an application error handler', () => {
  const seen: unknown[] = []
  let server: RunningServer

  beforeAll(async () => {
    const app = guardedApp()
    const handler: ErrorRequestHandler = (error: unknown, _req, res, next) => {
      seen.push(error)
      if (!(error instanceof BearerError)) {
        next(error)
        return
      }
      res.status(error.status).set(error.headers).json({ code: error.code, error: error.error })
    }
    app.use(handler)
    server = await serve(app)
  })
  afterAll(async () => {
    await server.close()
  })

  function lastError(): unknown {
    expect(seen.length).toBeGreaterThan(0)
    return seen.at(-1)
  }

  it('receives a MissingTokenError for a request without credentials', async () => {
    const answer = await get(`${server.url}/me`)
    expect(answer).toMatchObject({ status: 401, challenge: CHALLENGE.missing })
    expect(JSON.parse(answer.body)).toEqual({ code: 'credentials_missing', error: null })
    const error = lastError()
    expect(error).toBeInstanceOf(MissingTokenError)
    expect(error).toMatchObject({ status: 401, code: 'credentials_missing' })
  })

  it('receives an InvalidTokenError with code token_expired for an expired token', async () => {
    const token = expiredToken()
    const answer = await get(`${server.url}/me`, `Bearer ${token}`)
    expect(answer).toMatchObject({ status: 401, challenge: CHALLENGE.expired })
    expect(JSON.parse(answer.body)).toEqual({ code: 'token_expired', error: 'invalid_token' })
    const error = lastError()
    expect(error).toBeInstanceOf(InvalidTokenError)
    expect(error).toMatchObject({ status: 401, code: 'token_expired', error: 'invalid_token' })
    expect(String((error as Error).message)).not.toContain(token)
  })

  it('receives an InvalidRequestError for duplicated credentials', async () => {
    const answer = await rawGet(`${server.url}/me`, { authorization: [`Bearer ${tokenWith()}`, `Bearer ${tokenWith()}`] })
    expect(answer).toMatchObject({ status: 400, challenge: CHALLENGE.duplicated })
    const error = lastError()
    expect(error).toBeInstanceOf(InvalidRequestError)
    expect(error).toMatchObject({ status: 400, code: 'credentials_duplicated' })
  })

  it('receives an InsufficientScopeError carrying the required scopes', async () => {
    const answer = await get(`${server.url}/users`, `Bearer ${tokenWith('read:users')}`)
    expect(answer).toMatchObject({ status: 403, challenge: CHALLENGE.insufficient('read:users write:users') })
    const error = lastError()
    expect(error).toBeInstanceOf(InsufficientScopeError)
    expect(error).toMatchObject({ status: 403, code: 'scope_insufficient', requiredScopes: ['read:users', 'write:users'] })
  })

  it('is not called for a request that passes', async () => {
    const before = seen.length
    expect(await getJson(`${server.url}/me`)).toEqual({ sub: 'user-1', scopes: ['read:users'] })
    expect(seen.length).toBe(before)
  })
})

describe('express: placement', () => {
  let server: RunningServer

  beforeAll(async () => {
    const app = express()
    app.get('/public', (req, res) => {
      res.json({ auth: req.auth ?? null })
    })
    // Guarding a whole router with app.use, and a scope check without requireAuth before it.
    const api = express.Router()
    api.use(requireAuth(verifier))
    api.get('/me', (req, res) => {
      res.json({ sub: req.auth?.payload.sub })
    })
    app.use('/api', api)
    app.get('/scope-only', requireScopes('read:users'), (_req, res) => {
      res.json({ ok: true })
    })
    server = await serve(app)
  })
  afterAll(async () => {
    await server.close()
  })

  it('leaves req.auth undefined on unguarded routes', async () => {
    const answer = await get(`${server.url}/public`, `Bearer ${tokenWith()}`)
    expect(JSON.parse(answer.body)).toEqual({ auth: null })
  })

  it('guards every route of a router mounted with app.use, reading the original URL', async () => {
    expect((await get(`${server.url}/api/me`)).status).toBe(401)
    expect(await getJson(`${server.url}/api/me`)).toEqual({ sub: 'user-1' })
    // The query of the original URL is seen even though the router strips the mount path.
    const token = tokenWith()
    expect((await get(`${server.url}/api/me?access_token=${token}`, `Bearer ${token}`)).status).toBe(400)
  })

  it('answers 401 from requireScopes used without requireAuth, never 200', async () => {
    const answer = await get(`${server.url}/scope-only`, `Bearer ${tokenWith()}`)
    expect(answer.status).toBe(401)
    expect(answer.challenge).toBe(CHALLENGE.missing)
  })
})

describe('express: a hand-made request object', () => {
  function run(req: Record<string, unknown>, optional = false): Promise<{ auth: unknown; error: unknown }> {
    return new Promise((resolve) => {
      const request: Record<string, unknown> = { method: 'GET', originalUrl: '/me', ...req }
      requireAuth(verifier, { optional })(request as never, {} as never, (error?: unknown) => resolve({ auth: request.auth, error }))
    })
  }

  it('without rawHeaders, is read through headersDistinct or headers', async () => {
    const token = tokenWith()
    expect(await run({ headers: { authorization: `Bearer ${token}` } })).toMatchObject({ auth: { token }, error: undefined })
    expect(await run({ headersDistinct: { authorization: [`Bearer ${token}`, 'Bearer x'] }, headers: { authorization: `Bearer ${token}` } })).toMatchObject({
      error: { code: 'credentials_duplicated' },
    })
  })

  it('with rawHeaders, is read through them', async () => {
    const token = tokenWith()
    expect(await run({ rawHeaders: ['Authorization', `Bearer ${token}`], headers: {} })).toMatchObject({ auth: { token }, error: undefined })
    expect(await run({ rawHeaders: ['Authorization', `Bearer ${token}`, 'authorization', `Bearer ${token}`], headers: { authorization: `Bearer ${token}` } }, true)).toMatchObject({
      error: { code: 'credentials_duplicated' },
    })
  })
})
