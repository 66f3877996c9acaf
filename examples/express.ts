/**
 * A small Express API guarded by bearer-guard: a public route, a route for any valid token, and
 * scope-restricted routes. Run it against your issuer:
 *
 *   ISSUER=https://idp.example.com/ AUDIENCE=https://api.example.com npx tsx examples/express.ts
 *
 * or let `npm run demo -- --serve` start it next to a local issuer.
 */
import express, { type Express } from 'express'
import { createVerifier, type VerifierOptions } from 'bearer-guard'
import { bearerErrorHandler, requireAuth, requireScopes } from 'bearer-guard/express'
import { isMain, listen, optionsFromEnv } from './support/run.js'

export function createApp(options: VerifierOptions): Express {
  const verifier = createVerifier(options)
  const app = express()

  app.get('/public', (_req, res) => {
    res.json({ message: 'anyone can read this' })
  })

  app.get('/me', requireAuth(verifier), (req, res) => {
    res.json({ subject: req.auth?.payload.sub, scopes: req.auth?.scopes })
  })

  app.get('/users', requireAuth(verifier), requireScopes('read:users'), (_req, res) => {
    res.json({ users: ['ada', 'grace'] })
  })

  app.post('/users', requireAuth(verifier), requireScopes('write:users'), (_req, res) => {
    res.status(201).json({ created: true })
  })

  // Answers 400/401/403 with WWW-Authenticate and a JSON body, and logs one line per failure.
  app.use(bearerErrorHandler({ onError: (error, req) => console.warn(`auth failed: ${req.method} ${req.path} ${error.code}`) }))

  return app
}

if (isMain(import.meta.url)) {
  const app = createApp(optionsFromEnv())
  await listen((port, host, ready) => app.listen(port, host, ready), 'Express')
}
