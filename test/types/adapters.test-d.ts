/**
 * Type-level tests of the framework adapters, checked by `tsc --noEmit` (vitest does not run this
 * file): what importing each adapter adds to its framework's types.
 */
import type { RouterContext } from '@koa/router'
import type { Request, RequestHandler } from 'express'
import type { FastifyInstance, FastifyPluginCallback, FastifyPluginAsync, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import type { Context, Middleware, ParameterizedContext } from 'koa'
import { expectTypeOf } from 'vitest'
import type { IncomingMessage } from 'node:http'
import type { Http2ServerRequest } from 'node:http2'
import type { RequestLike, Verifier, VerifiedToken, VerifierOptions } from 'bearer-guard'
import * as expressAdapter from 'bearer-guard/express'
import bearerGuard, { bearerGuardPlugin, type BearerGuardPluginOptions } from 'bearer-guard/fastify'
import * as koaAdapter from 'bearer-guard/koa'

declare const verifier: Verifier
declare const options: VerifierOptions

// A Node request, HTTP/1 or HTTP/2, is a RequestLike as it is (its rawHeaders are read).
expectTypeOf<IncomingMessage>().toExtend<RequestLike>()
expectTypeOf<Http2ServerRequest>().toExtend<RequestLike>()

// Express: req.auth after importing 'bearer-guard/express'.
expectTypeOf<Request['auth']>().toEqualTypeOf<VerifiedToken | undefined>()
expectTypeOf(expressAdapter.requireAuth(verifier)).toEqualTypeOf<RequestHandler>()
expectTypeOf(expressAdapter.requireAuth(options, { optional: true })).toEqualTypeOf<RequestHandler>()
expectTypeOf(expressAdapter.requireScopes).parameters.toEqualTypeOf<[string, ...string[]]>()
expectTypeOf(expressAdapter.requireAnyScope).parameters.toEqualTypeOf<[string, ...string[]]>()
// @ts-expect-error -- requireScopes needs at least one scope
expressAdapter.requireScopes()
// @ts-expect-error -- requireAnyScope needs at least one scope
expressAdapter.requireAnyScope()
// @ts-expect-error -- the verifier options are checked
expressAdapter.requireAuth({ issuer: 'https://issuer.example.com/' })

// Koa: ctx.state.auth after importing 'bearer-guard/koa', on Koa's and @koa/router's contexts.
expectTypeOf<Context['state']['auth']>().toEqualTypeOf<VerifiedToken | undefined>()
expectTypeOf<ParameterizedContext['state']['auth']>().toEqualTypeOf<VerifiedToken | undefined>()
expectTypeOf<RouterContext['state']['auth']>().toEqualTypeOf<VerifiedToken | undefined>()
expectTypeOf(koaAdapter.requireAuth(verifier)).toEqualTypeOf<Middleware>()
expectTypeOf(koaAdapter.requireScopes).parameters.toEqualTypeOf<[string, ...string[]]>()
// @ts-expect-error -- requireScopes needs at least one scope
koaAdapter.requireScopes()

// Fastify: request.auth and the instance's hooks after importing 'bearer-guard/fastify'.
declare const app: FastifyInstance
expectTypeOf<FastifyRequest['auth']>().toEqualTypeOf<VerifiedToken | null>()
expectTypeOf(app.requireAuth).toEqualTypeOf<onRequestAsyncHookHandler>()
expectTypeOf(app.optionalAuth).toEqualTypeOf<onRequestAsyncHookHandler>()
expectTypeOf(app.requireScopes).toBeFunction()
expectTypeOf(app.requireScopes).parameters.toEqualTypeOf<[string, ...string[]]>()
expectTypeOf(app.requireScopes('read:users')).toEqualTypeOf<onRequestAsyncHookHandler>()
expectTypeOf(app.requireAnyScope('read:users', 'admin')).toEqualTypeOf<onRequestAsyncHookHandler>()
// @ts-expect-error -- requireScopes needs at least one scope
app.requireScopes()
expectTypeOf(bearerGuard).toEqualTypeOf(bearerGuardPlugin)
expectTypeOf(bearerGuardPlugin).toMatchTypeOf<FastifyPluginAsync<BearerGuardPluginOptions> | FastifyPluginCallback<BearerGuardPluginOptions>>()
expectTypeOf<{ verifier: Verifier }>().toMatchTypeOf<BearerGuardPluginOptions>()
expectTypeOf<VerifierOptions>().toMatchTypeOf<BearerGuardPluginOptions>()

// The hooks fit a route's onRequest option, alone or in a list.
export function routes(instance: FastifyInstance): void {
  instance.get('/me', { onRequest: instance.requireAuth }, async (request) => request.auth?.payload.sub)
  instance.get('/users', { onRequest: [instance.optionalAuth, instance.requireScopes('read:users')] }, async (request) => {
    expectTypeOf(request.auth).toEqualTypeOf<VerifiedToken | null>()
    return request.auth?.scopes
  })
}
