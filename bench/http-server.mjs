// The server side of bench/http.mjs, run in a child process (fork) so that the server and
// autocannon do not share one event loop. Not meant to be run by hand.
//
// Protocol (IPC): the parent sends { type: 'start', framework, guard, alg, jwk, pem, jwksUri,
// issuer, audience }; the child answers { type: 'listening', port }. Then { type: 'mark', track }
// answers { type: 'mark', cpu, served, authenticated, elu, distinct } (cumulative but `distinct`:
// the parent takes differences), and { type: 'stop' } closes the server and exits. With
// `track: true`, the callers (token subjects) are collected until the next mark, which reports how
// many were distinct: the warm-up uses this to check that every request carried another token (not
// done while timed).
//
// The app: GET /orders answers 200 { caller } (the token's sub when guarded, null otherwise),
// anything else 404. Guards:
//   none                        no guard (the request still carries the same Authorization header)
//   bearer-guard                requireAuth(verifier) / app.requireAuth, verifier with a static key set
//   bearer-guard-offload        the same with offloadSignatureChecks: true (signatures on the thread pool)
//   express-oauth2-jwt-bearer   auth({ issuer, audience, jwksUri, tokenSigningAlg }) (JWK Set from the parent)
//   @fastify/jwt                register({ secret: { public: pem }, verify: { algorithms, allowedIss, allowedAud } }),
//                               onRequest: request.jwtVerify()
//   LIMIT+parse                 a reference, not a usable guard: the least work any verifier must do
//                               per request, written as a plain middleware of the framework (take the
//                               token after "Bearer ", split it, base64url-decode and JSON.parse header
//                               and payload, crypto.verify with a cached KeyObject); it checks no claim

import { Buffer } from 'node:buffer'
import { createPublicKey, verify } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { SCHEMES } from './support.mjs'

const send = (message) => process.send(message)
const stats = { served: 0, authenticated: 0 }
let callers // a Set while tracking

/**
 * The LIMIT+parse guard's work: the `sub` of a token whose signature verifies, else undefined.
 * Header and payload are decoded and parsed (as any verifier must), no claim is checked.
 */
function limitParseCaller(authorization, alg, key) {
  if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) return undefined
  const token = authorization.slice(7)
  const firstDot = token.indexOf('.')
  const secondDot = token.indexOf('.', firstDot + 1)
  if (firstDot === -1 || secondDot === -1) return undefined
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, firstDot), 'base64url').toString('utf8'))
    const payload = JSON.parse(Buffer.from(token.slice(firstDot + 1, secondDot), 'base64url').toString('utf8'))
    if (header.alg !== alg) return undefined
    const { hash, options } = SCHEMES[alg]
    const valid = verify(hash, Buffer.from(token.slice(0, secondDot), 'latin1'), { key, ...options }, Buffer.from(token.slice(secondDot + 1), 'base64url'))
    return valid ? payload.sub : undefined
  } catch {
    return undefined
  }
}

async function start(config) {
  const { framework, guard, alg, jwk, pem, jwksUri, issuer, audience } = config
  const count = (caller) => {
    stats.served++
    if (caller !== null && caller !== undefined) {
      stats.authenticated++
      callers?.add(caller)
    }
    return { caller: caller ?? null }
  }
  const limitKey = guard === 'LIMIT+parse' ? createPublicKey({ key: jwk, format: 'jwk' }) : undefined
  const limitCaller = (authorization) => limitParseCaller(authorization, alg, limitKey)
  const bearerGuardOptions = () => ({ issuer, audience, jwks: { keys: [jwk] }, offloadSignatureChecks: guard === 'bearer-guard-offload' })

  if (framework === 'express') {
    const { default: express } = await import('express')
    const app = express()
    app.disable('x-powered-by')
    app.disable('etag')
    const handler = (req, res) => res.json(count(req.auth?.payload.sub))
    if (guard === 'none') app.get('/orders', handler)
    else if (guard.startsWith('bearer-guard')) {
      const { createVerifier } = await import('../dist/index.js')
      const { requireAuth, bearerErrorHandler } = await import('../dist/express.js')
      app.get('/orders', requireAuth(createVerifier(bearerGuardOptions())), handler)
      app.use(bearerErrorHandler())
    } else if (guard === 'express-oauth2-jwt-bearer') {
      const { auth } = await import('express-oauth2-jwt-bearer')
      app.get('/orders', auth({ issuer, audience, jwksUri, tokenSigningAlg: alg }), handler)
      app.use((error, _req, res, next) => (error.status === undefined ? next(error) : res.status(error.status).set(error.headers ?? {}).end()))
    } else if (guard === 'LIMIT+parse') {
      const limit = (req, res, next) => {
        const sub = limitCaller(req.headers.authorization)
        if (sub === undefined) res.status(401).set('WWW-Authenticate', 'Bearer').end()
        else {
          req.auth = { payload: { sub } }
          next()
        }
      }
      app.get('/orders', limit, handler)
    } else throw new Error(`express: unknown guard ${guard}`)
    return listen((callback) => app.listen(0, '127.0.0.1', callback))
  }

  if (framework === 'koa') {
    const { default: Koa } = await import('koa')
    const { default: Router } = await import('@koa/router')
    const app = new Koa()
    const router = new Router()
    const handler = (ctx) => {
      ctx.body = count(ctx.state.auth?.payload.sub)
    }
    if (guard === 'none') router.get('/orders', handler)
    else if (guard.startsWith('bearer-guard')) {
      const { createVerifier } = await import('../dist/index.js')
      const { requireAuth } = await import('../dist/koa.js')
      router.get('/orders', requireAuth(createVerifier(bearerGuardOptions())), handler)
    } else if (guard === 'LIMIT+parse') {
      const limit = async (ctx, next) => {
        const sub = limitCaller(ctx.req.headers.authorization)
        if (sub === undefined) {
          ctx.status = 401
          ctx.set('WWW-Authenticate', 'Bearer')
          return
        }
        ctx.state.auth = { payload: { sub } }
        await next()
      }
      router.get('/orders', limit, handler)
    } else throw new Error(`koa: unknown guard ${guard}`)
    app.use(router.routes())
    return listen((callback) => app.listen(0, '127.0.0.1', callback))
  }

  if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const app = Fastify({ logger: false })
    if (guard === 'none') app.get('/orders', async () => count(null))
    else if (guard.startsWith('bearer-guard')) {
      const { createVerifier } = await import('../dist/index.js')
      const { default: bearerGuard } = await import('../dist/fastify.js')
      await app.register(bearerGuard, { verifier: createVerifier(bearerGuardOptions()) })
      app.get('/orders', { onRequest: app.requireAuth }, async (request) => count(request.auth?.payload.sub))
    } else if (guard === '@fastify/jwt') {
      const { default: fastifyJwt } = await import('@fastify/jwt')
      await app.register(fastifyJwt, { secret: { public: pem }, verify: { algorithms: [alg], allowedIss: issuer, allowedAud: audience } })
      const onRequest = async (request) => {
        await request.jwtVerify()
      }
      app.get('/orders', { onRequest }, async (request) => count(request.user?.sub))
    } else if (guard === 'LIMIT+parse') {
      app.decorateRequest('caller', null)
      const onRequest = async (request, reply) => {
        const sub = limitCaller(request.raw.headers.authorization)
        if (sub === undefined) return reply.code(401).header('WWW-Authenticate', 'Bearer').send()
        request.caller = sub
      }
      app.get('/orders', { onRequest }, async (request) => count(request.caller))
    } else throw new Error(`fastify: unknown guard ${guard}`)
    await app.listen({ port: 0, host: '127.0.0.1' })
    return { port: app.server.address().port, close: () => app.close() }
  }

  throw new Error(`unknown framework ${framework}`)

  function listen(listenWith) {
    return new Promise((resolveListen) => {
      const server = listenWith(() => resolveListen({ port: server.address().port, close: () => new Promise((done) => server.close(done)) }))
    })
  }
}

let server

process.on('message', async (message) => {
  try {
    if (message.type === 'start') {
      server = await start(message)
      send({ type: 'listening', port: server.port })
    } else if (message.type === 'mark') {
      const cpu = process.cpuUsage()
      const distinct = callers?.size ?? 0
      callers = message.track === true ? new Set() : undefined
      send({ type: 'mark', cpu: (cpu.user + cpu.system) / 1000, wall: performance.now(), elu: performance.eventLoopUtilization(), distinct, ...stats })
    } else if (message.type === 'stop') {
      await server?.close()
      process.exit(0)
    }
  } catch (error) {
    send({ type: 'error', message: String(error?.stack ?? error) })
    process.exit(1)
  }
})
