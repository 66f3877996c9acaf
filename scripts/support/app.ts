/**
 * The application under test, run in its own process by scripts/soak.ts (forked with tsx's loader
 * and --expose-gc) so that its memory and event loop are measured apart from the load generator and
 * the JWKS server. Talks to the parent over IPC:
 *
 *   parent → { type: 'start', framework, options }   child → { type: 'ready', port }
 *   parent → { type: 'memory', id, … }                child → { type: 'memory', id, ... } (after full GCs)
 *   parent → { type: 'stop' }                         child → { type: 'stopped' }, then exits
 *
 * Routes: GET /public (unguarded) and GET /users (valid token with the `read:users` scope).
 */
import Router from '@koa/router'
import express, { type NextFunction, type Request as ExpressRequest, type Response as ExpressResponse } from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createVerifier, type FetchFunction, type Verifier, type VerifierOptions } from 'bearer-guard'
import { bearerErrorHandler, requireAuth as expressRequireAuth, requireScopes as expressRequireScopes } from 'bearer-guard/express'
import bearerGuard from 'bearer-guard/fastify'
import { requireAuth as koaRequireAuth, requireScopes as koaRequireScopes } from 'bearer-guard/koa'
import { REQUIRED_SCOPE } from './tokens.js'

export type Framework = 'express' | 'koa' | 'fastify'

export type ParentMessage =
  /** `parentTimeOrigin`: the parent's `performance.timeOrigin`, to report times on its clock. */
  | { type: 'start'; framework: Framework; options: VerifierOptions; parentTimeOrigin: number }
  /** `restartLoopDelay`: start a new event-loop delay window after this sample. */
  | { type: 'memory'; id: number; restartLoopDelay: boolean }
  | { type: 'stop' }

export interface MemorySample {
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  arrayBuffers: number
  /** Event-loop delay since the window began (start, or the last sample that restarted it), in ms. */
  loopDelayMaxMs: number
  loopDelayP99Ms: number
}

export type ChildMessage =
  | { type: 'ready'; port: number }
  | ({ type: 'memory'; id: number } & MemorySample)
  | { type: 'stopped' }
  /**
   * One key-set fetch by the verifier (see {@link observingFetch}): `delivered` when the answer was
   * a 304, or a 200 whose body the verifier read to the end, before its deadline could fire.
   */
  | { type: 'fetch'; id: string; startedAt: number; at: number; delivered: boolean }
  | { type: 'app-error'; message: string }
  | { type: 'fatal'; message: string }

interface Running {
  port: number
  close: () => Promise<void>
}

const PUBLIC_BODY = { message: 'anyone can read this' }

async function startExpress(verifier: Verifier): Promise<Running> {
  const app = express()
  app.get('/public', (_req, res) => {
    res.json(PUBLIC_BODY)
  })
  app.get('/users', expressRequireAuth(verifier), expressRequireScopes(REQUIRED_SCOPE), (req, res) => {
    res.json({ subject: req.auth?.payload.sub, scopes: req.auth?.scopes })
  })
  // Quiet RFC 6750 answers; without it Express logs a stack trace for every refused token.
  app.use(bearerErrorHandler())
  // Anything else is a server error: report it, then let Express answer as it would (500).
  app.use((error: unknown, _req: ExpressRequest, _res: ExpressResponse, next: NextFunction) => {
    reportAppError(error)
    next(error)
  })
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(listening)))
  })
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server) }
}

async function startKoa(verifier: Verifier): Promise<Running> {
  const router = new Router()
  router.get('/public', (ctx) => {
    ctx.body = PUBLIC_BODY
  })
  router.get('/users', koaRequireAuth(verifier), koaRequireScopes(REQUIRED_SCOPE), (ctx) => {
    ctx.body = { subject: ctx.state.auth?.payload.sub, scopes: ctx.state.auth?.scopes }
  })
  const app = new Koa()
  // Bearer errors are exposed 4xx errors; report anything else (Koa answers it with a 500).
  app.on('error', (error: unknown) => {
    if (!isClientError(error)) reportAppError(error)
  })
  app.use(router.routes()).use(router.allowedMethods())
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening))
  })
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server) }
}

async function startFastify(verifier: Verifier): Promise<Running> {
  const app = Fastify({ logger: false })
  await app.register(bearerGuard, { verifier })
  // Observes errors without changing how Fastify answers them.
  app.addHook('onError', async (_request, _reply, error) => {
    if (!isClientError(error)) reportAppError(error)
  })
  app.get('/public', async () => PUBLIC_BODY)
  app.get('/users', { onRequest: app.requireScopes(REQUIRED_SCOPE) }, async (request) => ({
    subject: request.auth?.payload.sub,
    scopes: request.auth?.scopes,
  }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address() as AddressInfo
  return { port: address.port, close: () => app.close() }
}

/** Margin below the verifier's deadline within which a finished read surely beat its timer. */
const DEADLINE_MARGIN_MS = 20

/**
 * The global `fetch`, observed: each key-set request carries an `x-soak-exchange` id (the JWKS
 * server reports it too), and the parent learns whether the verifier got the whole answer in time.
 * This is the ground truth of which key sets the verifier took in: on a loaded host the app can be
 * starved past its 300 ms deadline while the server answered at once, and then the verifier keeps
 * its old keys. Nothing else changes: same request, same response (a 200 body is passed through a
 * stream that notes its end or cancellation), the library's own timeout, caps and checks.
 */
function observingFetch(timeoutMs: number, parentTimeOrigin: number): FetchFunction {
  const toParent = (time: number) => performance.timeOrigin + time - parentTimeOrigin
  let next = 0
  return async (input, init) => {
    const id = String(++next)
    const startedAt = performance.now()
    let reported = false
    const report = (delivered: boolean) => {
      if (reported) return
      reported = true
      const now = performance.now()
      const inTime = now - startedAt < timeoutMs - DEADLINE_MARGIN_MS
      send({ type: 'fetch', id, startedAt: toParent(startedAt), at: toParent(now), delivered: delivered && inTime })
    }
    const headers = new Headers(init.headers)
    headers.set('x-soak-exchange', id)
    let response: Response
    try {
      response = await fetch(input, { ...init, headers })
    } catch (error) {
      report(false)
      throw error
    }
    if (response.status === 304) {
      report(true)
      return response
    }
    if (response.status !== 200 || response.body === null) {
      report(false)
      return response
    }
    const reader = response.body.getReader()
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          try {
            const { done, value } = await reader.read()
            if (done) {
              report(true)
              controller.close()
            } else {
              controller.enqueue(value)
            }
          } catch (error) {
            report(false)
            controller.error(error)
          }
        },
        cancel(reason) {
          report(false)
          return reader.cancel(reason)
        },
      },
      { highWaterMark: 0 },
    )
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

function send(message: ChildMessage, then?: () => void): void {
  if (process.send === undefined) then?.()
  else process.send(message, undefined, {}, () => then?.())
}

/** A 4xx error (bearer-guard's all are); anything else is a server error. */
function isClientError(error: unknown): boolean {
  const status = (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode
  return typeof status === 'number' && status >= 400 && status < 500
}

let reportedErrors = 0
function reportAppError(error: unknown): void {
  // The parent counts every 5xx itself; a few stack traces are enough to find the cause.
  if (reportedErrors++ >= 5) return
  send({ type: 'app-error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) })
}

const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()
let running: Running | undefined

function sampleMemory(restartLoopDelay: boolean): MemorySample {
  // Two full collections: what is left is what the process really holds on to.
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  const usage = process.memoryUsage()
  const sample = {
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    loopDelayMaxMs: loopDelay.max / 1e6,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  }
  if (restartLoopDelay) loopDelay.reset()
  return sample
}

async function onMessage(message: ParentMessage): Promise<void> {
  switch (message.type) {
    case 'start': {
      const { options, parentTimeOrigin } = message
      const verifier = createVerifier({ ...options, fetch: observingFetch(options.fetchTimeoutMs ?? 5_000, parentTimeOrigin) })
      const start = { express: startExpress, koa: startKoa, fastify: startFastify }[message.framework]
      running = await start(verifier)
      send({ type: 'ready', port: running.port })
      return
    }
    case 'memory':
      send({ type: 'memory', id: message.id, ...sampleMemory(message.restartLoopDelay) })
      return
    case 'stop':
      await running?.close()
      loopDelay.disable()
      send({ type: 'stopped' }, () => process.exit(0))
      return
  }
}

process.on('message', (message: ParentMessage) => {
  onMessage(message).catch((error: unknown) => {
    send({ type: 'fatal', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () => process.exit(1))
  })
})
// Never outlive the soak test.
process.on('disconnect', () => process.exit(0))
process.on('uncaughtException', (error) => {
  send({ type: 'fatal', message: `uncaught exception: ${error.stack ?? error.message}` }, () => process.exit(1))
})
process.on('unhandledRejection', (reason) => {
  const message = `unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`
  send({ type: 'fatal', message }, () => process.exit(1))
})
