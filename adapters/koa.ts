import type { Middleware } from 'koa'
import {
  authenticateRequest,
  checkScopes,
  requiredScopeList,
  toVerifier,
  type GuardOptions,
  type VerifiedToken,
  type VerifierOrOptions,
} from 'bearer-guard'

declare module 'koa' {
  interface DefaultState {
    /** The verified access token, set by `requireAuth`; absent for anonymous requests in optional mode. */
    auth?: VerifiedToken
  }
}

/**
 * Koa middleware that lets a request through only with a valid bearer token, and puts the
 * verification result on `ctx.state.auth`. Failures are thrown as bearer-guard errors carrying
 * `status` and `headers`, so Koa's default error handling answers 400, 401 or 403 with the
 * `WWW-Authenticate` header and the error's fixed message as body (bearer-guard errors set `expose`,
 * so Koa sends the message and does not log them as server errors); the original error is what
 * your own error middleware catches.
 *
 * @param verifier a verifier from `createVerifier`, or its options (one is built once, here).
 * @param options `optional: true` lets requests without credentials through anonymously.
 */
export function requireAuth(verifier: VerifierOrOptions, options: GuardOptions = {}): Middleware {
  const instance = toVerifier(verifier)
  return async (ctx, next) => {
    const body: unknown = (ctx.request as { body?: unknown }).body
    // `rawHeaders` shows a repeated Authorization header, which `headers` keeps only once; a request
    // object without it (a hand-made one) is read through its header records.
    const { rawHeaders } = ctx.req
    const headers = Array.isArray(rawHeaders) ? undefined : (ctx.req.headersDistinct ?? ctx.req.headers)
    const auth = await authenticateRequest(instance, { method: ctx.method, url: ctx.originalUrl, rawHeaders, headers, body }, options)
    if (auth !== undefined) ctx.state.auth = auth
    await next()
  }
}

function scopeGuard(list: readonly string[], match: 'all' | 'any'): Middleware {
  const scopes = requiredScopeList(list)
  return async (ctx, next) => {
    checkScopes(ctx.state.auth as VerifiedToken | undefined, scopes, match)
    await next()
  }
}

/** Koa middleware, after `requireAuth`: the token must grant every one of `scopes` (else 403). */
export function requireScopes(...scopes: [string, ...string[]]): Middleware {
  return scopeGuard(scopes, 'all')
}

/** Koa middleware, after `requireAuth`: the token must grant at least one of `scopes` (else 403). */
export function requireAnyScope(...scopes: [string, ...string[]]): Middleware {
  return scopeGuard(scopes, 'any')
}
