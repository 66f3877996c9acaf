import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import {
  authenticateRequest,
  checkScopes,
  requiredScopeList,
  toVerifier,
  type GuardOptions,
  type ScopeMatch,
  type VerifiedToken,
  type Verifier,
  type VerifierOptions,
} from 'bearer-guard'

/** Options of the Fastify plugin: a ready `verifier`, or the verifier options themselves. */
export type BearerGuardPluginOptions = { verifier: Verifier } | VerifierOptions

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token; `null` until a guard ran, and for anonymous requests in optional mode. */
    auth: VerifiedToken | null
  }
  interface FastifyInstance {
    /** `onRequest` hook: requires a valid bearer token and sets `request.auth`. */
    requireAuth: onRequestAsyncHookHandler
    /** `onRequest` hook: like `requireAuth`, but a request without credentials passes with `request.auth` null. */
    optionalAuth: onRequestAsyncHookHandler
    /** `onRequest` hook: requires a valid token (unless a guard already verified it) granting every one of `scopes`. */
    requireScopes(...scopes: [string, ...string[]]): onRequestAsyncHookHandler
    /** `onRequest` hook: requires a valid token granting at least one of `scopes`. */
    requireAnyScope(...scopes: [string, ...string[]]): onRequestAsyncHookHandler
  }
}

const bearerGuard: FastifyPluginAsync<BearerGuardPluginOptions> = async (app, options) => {
  // Fastify's own registration options are not verifier options.
  const { prefix: _prefix, logLevel: _logLevel, logSerializers: _logSerializers, ...own } = options as BearerGuardPluginOptions & { prefix?: string; logLevel?: unknown; logSerializers?: unknown }
  const verifier = toVerifier('verifier' in own ? own.verifier : (own as VerifierOptions))

  // One promise chain per request (no async wrappers): `authenticateRequest` never throws, it rejects.
  function authenticate(request: FastifyRequest, guard: GuardOptions): Promise<void> {
    const { raw } = request
    // `rawHeaders` shows a repeated Authorization header, which `headers` keeps only once; a request
    // object without it (a hand-made one) is read through its header records.
    const { rawHeaders } = raw
    const headers = Array.isArray(rawHeaders) ? undefined : (raw.headersDistinct ?? raw.headers)
    return authenticateRequest(verifier, { method: raw.method, url: raw.url, rawHeaders, headers, body: request.body }, guard).then((auth) => {
      request.auth = auth ?? null
    })
  }

  function scopeHook(list: readonly string[], match: ScopeMatch): onRequestAsyncHookHandler {
    const scopes = requiredScopeList(list)
    return async (request: FastifyRequest, _reply: FastifyReply) => {
      if (request.auth === null) await authenticate(request, {})
      checkScopes(request.auth, scopes, match)
    }
  }

  app.decorateRequest('auth', null)
  app.decorate('requireAuth', (request: FastifyRequest) => authenticate(request, {}))
  app.decorate('optionalAuth', (request: FastifyRequest) => authenticate(request, { optional: true }))
  app.decorate('requireScopes', (...scopes: [string, ...string[]]) => scopeHook(scopes, 'all'))
  app.decorate('requireAnyScope', (...scopes: [string, ...string[]]) => scopeHook(scopes, 'any'))
}

/**
 * Fastify plugin. Register it once; it decorates every request with `auth` (null until verified)
 * and the instance with route hooks:
 *
 * @example
 * await app.register(bearerGuard, { issuer: 'https://idp.example.com/', audience: 'https://api.example.com' })
 * app.get('/users', { onRequest: app.requireScopes('read:users') }, async (request) => request.auth?.payload.sub)
 *
 * Failures are thrown as bearer-guard errors carrying `status` and `headers`, which Fastify's error
 * handling turns into a 400, 401 or 403 reply with the `WWW-Authenticate` header.
 */
export const bearerGuardPlugin = fp(bearerGuard, { name: 'bearer-guard', fastify: '5.x' })
export default bearerGuardPlugin
