/**
 * Controllers decorated with `RequireScopes` / `RequireAnyScope`, one per framework, written with
 * the decorator syntax as users write it. `tsc --noEmit` type-checks this file (TypeScript 5
 * standard decorators, the project's setting); `test/decorator.test.ts` compiles it with
 * TypeScript, in standard and in legacy (`experimentalDecorators`) mode, and serves the handlers.
 * Vitest itself cannot load it: its transformer (oxc) does not lower standard decorators.
 */
import type { Request, Response } from 'express'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Context } from 'koa'
import { RequireAnyScope, RequireScopes } from 'bearer-guard'
import type {} from 'bearer-guard/express'
import type {} from 'bearer-guard/fastify'
import type {} from 'bearer-guard/koa'

/** Express handlers: `(req, res) => controller.method(req, res)`. */
export class ExpressUsers {
  /** Names of the handlers that ran, to prove `this` is preserved. */
  readonly ran: string[] = []

  @RequireScopes('read:users')
  list(req: Request, res: Response): void {
    this.ran.push('list')
    res.json({ users: ['ada', 'grace'], sub: req.auth?.payload.sub })
  }

  @RequireAnyScope('admin', 'write:users')
  async create(_req: Request, res: Response): Promise<void> {
    this.ran.push('create')
    res.status(201).json({ created: true })
  }
}

/** Koa handlers: `(ctx) => controller.method(ctx)`, reading `ctx.state.auth`. */
export class KoaUsers {
  readonly ran: string[] = []

  @RequireScopes('read:users')
  list(ctx: Context): void {
    this.ran.push('list')
    ctx.body = { users: ['ada', 'grace'], sub: ctx.state.auth?.payload.sub }
  }

  @RequireAnyScope('admin', 'write:users')
  async create(ctx: Context): Promise<void> {
    this.ran.push('create')
    ctx.status = 201
    ctx.body = { created: true }
  }
}

/** Fastify handlers: `(request, reply) => controller.method(request, reply)`. */
export class FastifyUsers {
  readonly ran: string[] = []

  @RequireScopes('read:users')
  async list(request: FastifyRequest, _reply: FastifyReply): Promise<{ users: string[]; sub: string | undefined }> {
    this.ran.push('list')
    return { users: ['ada', 'grace'], sub: request.auth?.payload.sub }
  }

  @RequireAnyScope('admin', 'write:users')
  async create(_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    this.ran.push('create')
    return reply.code(201).send({ created: true })
  }
}
