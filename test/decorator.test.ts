import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import Router from '@koa/router'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import Koa from 'koa'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createVerifier,
  InsufficientScopeError,
  MissingTokenError,
  RequireAnyScope,
  RequireScopes,
  type VerifiedToken,
} from 'bearer-guard'
import { requireAuth as expressAuth } from 'bearer-guard/express'
import bearerGuard from 'bearer-guard/fastify'
import { requireAuth as koaAuth } from 'bearer-guard/koa'
import { CHALLENGE, get, serve, tokenWith, verifierOptions, type Answer } from './support/app-helpers.js'
import type * as Fixture from './types/decorated-controllers.js'

const verifier = createVerifier(verifierOptions)
const root = fileURLToPath(new URL('..', import.meta.url))
const scratch = mkdtempSync(join(tmpdir(), 'bearer-guard-decorators-'))

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true })
})

type DecoratorMode = 'standard' | 'legacy'

/**
 * Compiles test/types/decorated-controllers.ts with TypeScript, as a user's build would: standard
 * decorators (the project's tsconfig) or `experimentalDecorators`. Vitest's own transformer (oxc)
 * cannot lower standard decorators, so the file is compiled here and the output imported through
 * Vitest, which maps 'bearer-guard' to the same source modules as this test.
 */
async function compileControllers(mode: DecoratorMode): Promise<typeof Fixture> {
  const fixture = join(root, 'test/types/decorated-controllers.ts')
  const { outputText, diagnostics } = ts.transpileModule(readFileSync(fixture, 'utf8'), {
    fileName: fixture,
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      verbatimModuleSyntax: true,
      experimentalDecorators: mode === 'legacy',
    },
  })
  expect(diagnostics ?? []).toEqual([])
  const file = join(scratch, `controllers-${mode}.mjs`)
  writeFileSync(file, outputText)
  return (await import(/* @vite-ignore */ pathToFileURL(file).href)) as typeof Fixture
}

async function post(url: string, authorization?: string): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: authorization === undefined ? {} : { authorization } })
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: await response.text() }
}

/** A base URL whose routes run decorated handlers: `/users` guarded, `/optional/users` optional, `/open/users` unguarded. */
interface DecoratedServer {
  url: string
  ran: string[]
  close(): Promise<void>
}

async function expressServer(controllers: typeof Fixture): Promise<DecoratedServer> {
  const users = new controllers.ExpressUsers()
  const app = express()
  app.get('/users', expressAuth(verifier), (req, res) => users.list(req, res))
  app.post('/users', expressAuth(verifier), (req, res) => users.create(req, res))
  app.get('/optional/users', expressAuth(verifier, { optional: true }), (req, res) => users.list(req, res))
  app.get('/open/users', (req, res) => users.list(req, res))
  const server = await serve(app)
  return { url: server.url, ran: users.ran, close: server.close }
}

async function koaServer(controllers: typeof Fixture): Promise<DecoratedServer> {
  const users = new controllers.KoaUsers()
  const router = new Router()
  router.get('/users', koaAuth(verifier), (ctx) => users.list(ctx))
  router.post('/users', koaAuth(verifier), (ctx) => users.create(ctx))
  router.get('/optional/users', koaAuth(verifier, { optional: true }), (ctx) => users.list(ctx))
  router.get('/open/users', (ctx) => users.list(ctx))
  const app = new Koa()
  app.use(router.routes())
  const server = await serve(app.callback())
  return { url: server.url, ran: users.ran, close: server.close }
}

async function fastifyServer(controllers: typeof Fixture): Promise<DecoratedServer> {
  const users = new controllers.FastifyUsers()
  const app: FastifyInstance = Fastify()
  await app.register(bearerGuard, { verifier })
  app.get('/users', { onRequest: app.requireAuth }, (request, reply) => users.list(request, reply))
  app.post('/users', { onRequest: app.requireAuth }, (request, reply) => users.create(request, reply))
  app.get('/optional/users', { onRequest: app.optionalAuth }, (request, reply) => users.list(request, reply))
  app.get('/open/users', (request, reply) => users.list(request, reply))
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return { url, ran: users.ran, close: () => app.close() }
}

const FRAMEWORKS = [
  ['express', expressServer],
  ['koa', koaServer],
  ['fastify', fastifyServer],
] as const

describe.each(['standard', 'legacy'] as const)('decorators in %s mode, compiled by TypeScript', (mode) => {
  let controllers: typeof Fixture
  beforeAll(async () => {
    controllers = await compileControllers(mode)
  })

  describe.each(FRAMEWORKS)('as %s handlers', (_framework, start) => {
    let server: DecoratedServer
    beforeAll(async () => {
      server = await start(controllers)
    })
    afterAll(async () => {
      await server.close()
    })

    it('runs the handler, with its this, when the token grants the scope', async () => {
      const answer = await get(`${server.url}/users`, `Bearer ${tokenWith('read:users')}`)
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.body)).toEqual({ users: ['ada', 'grace'], sub: 'user-1' })
      expect(server.ran.at(-1)).toBe('list')
    })

    it('answers 403 with the scope attribute, without running the handler, when the scope is missing', async () => {
      const before = server.ran.length
      const answer = await get(`${server.url}/users`, `Bearer ${tokenWith('profile')}`)
      expect(answer.status).toBe(403)
      expect(answer.challenge).toBe(CHALLENGE.insufficient('read:users'))
      expect(server.ran.length).toBe(before)
    })

    it('RequireAnyScope: runs with one of the scopes, 403 with none', async () => {
      const created = await post(`${server.url}/users`, `Bearer ${tokenWith('write:users')}`)
      expect(created.status).toBe(201)
      expect(JSON.parse(created.body)).toEqual({ created: true })
      expect(server.ran.at(-1)).toBe('create')
      const refused = await post(`${server.url}/users`, `Bearer ${tokenWith('read:users')}`)
      expect(refused.status).toBe(403)
      expect(refused.challenge).toBe(CHALLENGE.insufficient('admin write:users'))
    })

    it('answers 401 when no auth result reached the handler', async () => {
      const before = server.ran.length
      // Optional guard, no credentials: anonymous, so the decorator refuses.
      const anonymous = await get(`${server.url}/optional/users`)
      expect(anonymous.status).toBe(401)
      expect(anonymous.challenge).toBe(CHALLENGE.missing)
      // No guard at all: even a valid token was never verified.
      const unguarded = await get(`${server.url}/open/users`, `Bearer ${tokenWith('read:users')}`)
      expect(unguarded.status).toBe(401)
      expect(unguarded.challenge).toBe(CHALLENGE.missing)
      expect(server.ran.length).toBe(before)
      // The optional guard with a good token: the decorator sees the result.
      expect((await get(`${server.url}/optional/users`, `Bearer ${tokenWith('read:users')}`)).status).toBe(200)
    })
  })
})

describe('decorators called by hand', () => {
  let granted: VerifiedToken
  beforeAll(async () => {
    granted = await verifier.verify(tokenWith('read:users'))
  })

  it('trusts only a result a verifier produced, and only on the first argument', async () => {
    // Decorated by hand (standard form): this file is not compiled with decorator support.
    const wipe = async (_req: { auth?: VerifiedToken }, _body: unknown): Promise<string> => 'wiped'
    const admin = { wipe: RequireScopes('admin')(wipe, { kind: 'method', name: 'wipe' } as ClassMethodDecoratorContext<unknown, typeof wipe>) }
    // A look-alike result, e.g. from a JSON body, on the first or a later argument, proves nothing.
    const forged = { token: 'x', header: {}, payload: {}, scopes: ['admin'] } as unknown as VerifiedToken
    await expect(admin.wipe({ auth: forged }, {})).rejects.toBeInstanceOf(MissingTokenError)
    await expect(admin.wipe({}, { auth: forged })).rejects.toBeInstanceOf(MissingTokenError)
    await expect(admin.wipe({}, { state: { auth: forged } })).rejects.toBeInstanceOf(MissingTokenError)
    const realAdmin = await verifier.verify(tokenWith('admin'))
    await expect(admin.wipe({}, { auth: realAdmin })).rejects.toBeInstanceOf(MissingTokenError)
    await expect(admin.wipe({ auth: realAdmin }, {})).resolves.toBe('wiped')
  })

  it('legacy form (target, key, descriptor): wraps descriptor.value and returns nothing', async () => {
    class Users {
      prefix = 'listed by'
      list(req: { auth?: VerifiedToken }, who: string): string {
        return `${this.prefix} ${who} for ${req.auth?.payload.sub}`
      }
    }
    const descriptor = Object.getOwnPropertyDescriptor(Users.prototype, 'list') as PropertyDescriptor
    const original: unknown = descriptor.value
    const returned: unknown = RequireScopes('read:users')(Users.prototype, 'list', descriptor)
    expect(returned).toBeUndefined()
    expect(descriptor.value).not.toBe(original)
    expect(typeof descriptor.value).toBe('function')
    Object.defineProperty(Users.prototype, 'list', descriptor)

    const users = new Users()
    await expect(users.list({ auth: granted }, 'ada')).resolves.toBe('listed by ada for user-1')
    await expect(users.list({}, 'ada')).rejects.toBeInstanceOf(MissingTokenError)
    const denied = await verifier.verify(tokenWith('profile'))
    const error: unknown = await Promise.resolve(users.list({ auth: denied }, 'ada')).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(InsufficientScopeError)
    expect((error as InsufficientScopeError).requiredScopes).toEqual(['read:users'])
  })

  it('standard form (method, context): returns a wrapper and leaves the method alone', async () => {
    const method = function (this: { tag: string }, ctx: { state: { auth?: VerifiedToken } }) {
      return `${this.tag}:${ctx.state.auth?.payload.sub}`
    }
    const context = { kind: 'method', name: 'list', static: false, private: false } as ClassMethodDecoratorContext<
      { tag: string },
      typeof method
    >
    const wrapped = RequireAnyScope('admin', 'read:users')(method, context)
    expect(wrapped).not.toBe(method)
    await expect(wrapped.call({ tag: 'koa' }, { state: { auth: granted } })).resolves.toBe('koa:user-1')
    await expect(wrapped.call({ tag: 'koa' }, { state: {} })).rejects.toBeInstanceOf(MissingTokenError)
  })

  it('reads a null auth result (Fastify before any guard) as unauthenticated', async () => {
    const wrapped = RequireScopes('read:users')(
      async (request: { auth: VerifiedToken | null }) => request.auth?.scopes,
      { kind: 'method', name: 'list' } as ClassMethodDecoratorContext,
    )
    await expect(wrapped({ auth: null })).rejects.toBeInstanceOf(MissingTokenError)
    await expect(wrapped({ auth: granted })).resolves.toEqual(['read:users'])
  })

  it('refuses zero or empty scopes with a TypeError at decoration time', () => {
    const untypedAll = RequireScopes as unknown as (...scopes: unknown[]) => unknown
    const untypedAny = RequireAnyScope as unknown as (...scopes: unknown[]) => unknown
    expect(() => untypedAll()).toThrow(TypeError)
    expect(() => untypedAny()).toThrow(TypeError)
    expect(() => RequireScopes('read:users', '')).toThrow(TypeError)
    expect(() => untypedAll(42)).toThrow(TypeError)
  })

  it('refuses to decorate anything but a method', () => {
    const decorator = RequireScopes('read:users') as unknown as (value: unknown, context: unknown) => unknown
    expect(() => decorator(undefined, { kind: 'field', name: 'handler' })).toThrow(TypeError)
    expect(() => decorator(() => undefined, { kind: 'getter', name: 'handler' })).toThrow(TypeError)
    expect(() => decorator(() => undefined, undefined)).toThrow('scope decorators apply to class methods only')
    // Legacy form on an accessor: its descriptor has no method to guard.
    class Accessor {
      get handler(): string {
        return 'x'
      }
    }
    const descriptor = Object.getOwnPropertyDescriptor(Accessor.prototype, 'handler') as PropertyDescriptor
    expect(() => RequireScopes('read:users')(Accessor.prototype, 'handler', descriptor)).toThrow('scope decorators apply to class methods only')
  })
})

describe('the core entry point, which holds the decorators', () => {
  // Built with the project's tsup config (without declarations) into a scratch directory inside the
  // project, so that the bundle resolves its dependencies from node_modules as the published one does.
  const outDir = join(root, 'node_modules/.cache', `bearer-guard-core-${process.pid}`)

  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'node_modules/tsup/dist/cli-default.js'), '--out-dir', outDir, '--no-dts', '--no-sourcemap'], {
      cwd: root,
      stdio: 'pipe',
    })
  }, 30_000)
  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true })
  })

  // Prints the web framework packages loaded after `load`, then after importing express (a check of the check).
  const probe = (load: string) => `
    import { createRequire } from 'node:module'
    const require = createRequire(import.meta.url)
    const frameworks = /[\\\\/]node_modules[\\\\/](?:express|koa|@koa[\\\\/]router|fastify|fastify-plugin)[\\\\/]/
    const loaded = () => Object.keys(require.cache).filter((file) => frameworks.test(file))
    const core = ${load}
    const before = loaded()
    await import('express')
    console.log(JSON.stringify({ decorator: typeof core.RequireScopes, before, after: loaded().length }))
  `

  it.each([
    ['ESM', `await import(${JSON.stringify(pathToFileURL(join(outDir, 'index.js')).href)})`],
    ['CommonJS', `require(${JSON.stringify(join(outDir, 'index.cjs'))})`],
  ])('loads no web framework (%s build)', (_format, load) => {
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', probe(load)], { cwd: root, encoding: 'utf8' })
    const result = JSON.parse(output) as { decorator: string; before: string[]; after: number }
    expect(result.decorator).toBe('function')
    expect(result.before).toEqual([])
    expect(result.after).toBeGreaterThan(0)
  })
})
