/**
 * A small Fastify API guarded by bearer-guard: a public route, a route for any valid token, and
 * scope-restricted routes. Run it against your issuer:
 *
 *   ISSUER=https://idp.example.com/ AUDIENCE=https://api.example.com npx tsx examples/fastify.ts
 *
 * or let `npm run demo -- --framework fastify --serve` start it next to a local issuer.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import type { VerifierOptions } from 'bearer-guard'
import bearerGuard from 'bearer-guard/fastify'
import { isMain, optionsFromEnv } from './support/run.js'

export async function createApp(options: VerifierOptions): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(bearerGuard, options)

  app.get('/public', async () => ({ message: 'anyone can read this' }))

  app.get('/me', { onRequest: app.requireAuth }, async (request) => ({
    subject: request.auth?.payload.sub,
    scopes: request.auth?.scopes,
  }))

  app.get('/users', { onRequest: app.requireScopes('read:users') }, async () => ({ users: ['ada', 'grace'] }))

  app.post('/users', { onRequest: app.requireScopes('write:users') }, async (_request, reply) => {
    reply.code(201)
    return { created: true }
  })

  return app
}

if (isMain(import.meta.url)) {
  const app = await createApp(optionsFromEnv())
  const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
  console.log(`Fastify API listening on ${address}`)
}
