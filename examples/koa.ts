/**
 * A small Koa API guarded by bearer-guard: a public route, a route for any valid token, and
 * scope-restricted routes. Run it against your issuer:
 *
 *   ISSUER=https://idp.example.com/ AUDIENCE=https://api.example.com npx tsx examples/koa.ts
 *
 * or let `npm run demo -- --framework koa --serve` start it next to a local issuer.
 */
import Router from '@koa/router'
import Koa from 'koa'
import { createVerifier, type VerifierOptions } from 'bearer-guard'
import { requireAuth, requireScopes } from 'bearer-guard/koa'
import { isMain, listen, optionsFromEnv } from './support/run.js'

export function createApp(options: VerifierOptions): Koa {
  const verifier = createVerifier(options)
  const router = new Router()

  router.get('/public', (ctx) => {
    ctx.body = { message: 'anyone can read this' }
  })

  router.get('/me', requireAuth(verifier), (ctx) => {
    ctx.body = { subject: ctx.state.auth?.payload.sub, scopes: ctx.state.auth?.scopes }
  })

  router.get('/users', requireAuth(verifier), requireScopes('read:users'), (ctx) => {
    ctx.body = { users: ['ada', 'grace'] }
  })

  router.post('/users', requireAuth(verifier), requireScopes('write:users'), (ctx) => {
    ctx.status = 201
    ctx.body = { created: true }
  })

  const app = new Koa()
  app.use(router.routes()).use(router.allowedMethods())
  return app
}

if (isMain(import.meta.url)) {
  const app = createApp(optionsFromEnv())
  await listen((port, host, ready) => app.listen(port, host, ready), 'Koa')
}
