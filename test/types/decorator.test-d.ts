/**
 * Type-level tests of the scope decorators, checked by `tsc --noEmit` (vitest does not run this
 * file). Each `@ts-expect-error` must stay an error: if it ever compiles, tsc fails on the unused
 * directive.
 */
import type { Request, Response } from 'express'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Context } from 'koa'
import { expectTypeOf } from 'vitest'
import { RequireAnyScope, RequireScopes, type AuthCarrier, type ScopeDecorator, type VerifiedToken } from 'bearer-guard'
import type {} from 'bearer-guard/express'
import type {} from 'bearer-guard/fastify'
import type {} from 'bearer-guard/koa'

// At least one scope, checked at compile time (and at run time: TypeError).
// @ts-expect-error -- RequireScopes needs at least one scope
RequireScopes()
// @ts-expect-error -- RequireAnyScope needs at least one scope
RequireAnyScope()
// @ts-expect-error -- scopes are strings
RequireScopes(1)
expectTypeOf(RequireScopes('read:users')).toEqualTypeOf<ScopeDecorator>()
expectTypeOf(RequireAnyScope('a', 'b')).toEqualTypeOf<ScopeDecorator>()
expectTypeOf(RequireScopes).parameters.toEqualTypeOf<[string, ...string[]]>()

// What carries an auth result: every adapter's request or context.
expectTypeOf<Request>().toMatchTypeOf<AuthCarrier>()
expectTypeOf<FastifyRequest>().toMatchTypeOf<AuthCarrier>()
expectTypeOf<Context>().toMatchTypeOf<AuthCarrier>()
expectTypeOf<{ auth?: VerifiedToken }>().toMatchTypeOf<AuthCarrier>()
expectTypeOf<number>().not.toMatchTypeOf<AuthCarrier>()

export class Accepted {
  @RequireScopes('read:users')
  express(_req: Request, _res: Response): void {}

  @RequireScopes('read:users')
  async fastify(_request: FastifyRequest, _reply: FastifyReply): Promise<string> {
    return 'ok'
  }

  @RequireAnyScope('read:users', 'admin')
  koa(_ctx: Context): void {}

  @RequireScopes('read:users')
  plain(_carrier: { auth?: VerifiedToken | null }, _extra: number): void {}
}

export class Refused {
  // @ts-expect-error -- the first parameter must be a request or context that carries the auth result
  @RequireScopes('read:users')
  byNumber(_id: number): void {}

  // @ts-expect-error -- a string is no request either
  @RequireAnyScope('read:users')
  byString(_name: string): void {}

  // @ts-expect-error -- a handler without parameters has no request to read
  @RequireScopes('read:users')
  noParameters(): void {}

  // @ts-expect-error -- the decorated method becomes async, so a synchronous non-void result would be a lie
  @RequireScopes('read:users')
  syncValue(_req: Request): string {
    return 'not a promise'
  }
}
