import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express'
import {
  authenticateRequest,
  isBearerError,
  type BearerError,
  checkScopes,
  requiredScopeList,
  toVerifier,
  type GuardOptions,
  type VerifiedToken,
  type VerifierOrOptions,
} from 'bearer-guard'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express types are merged through this global namespace
  namespace Express {
    interface Request {
      /** The verified access token, set by `requireAuth`; absent for anonymous requests in optional mode. */
      auth?: VerifiedToken
    }
  }
}

/**
 * Express middleware that lets a request through only with a valid bearer token, and puts the
 * verification result on `req.auth`. Failures go to `next(err)` as bearer-guard errors carrying
 * `status` and `headers` (`WWW-Authenticate`), so Express's own error handler already answers 400,
 * 401 or 403 correctly; an application error handler gets the typed error.
 *
 * @param verifier a verifier from `createVerifier`, or its options (one is built once, here).
 * @param options `optional: true` lets requests without credentials through anonymously.
 */
export function requireAuth(verifier: VerifierOrOptions, options: GuardOptions = {}): RequestHandler {
  const instance = toVerifier(verifier)
  return (req: Request, _res: Response, next: NextFunction) => {
    // `rawHeaders` shows a repeated Authorization header, which `headers` keeps only once; a request
    // object without it (a hand-made one) is read through its header records.
    const { rawHeaders } = req
    const headers = Array.isArray(rawHeaders) ? undefined : (req.headersDistinct ?? req.headers)
    const request = { method: req.method, url: req.originalUrl, rawHeaders, headers, body: req.body as unknown }
    authenticateRequest(instance, request, options).then((auth) => {
      if (auth !== undefined) req.auth = auth
      next()
    }, next)
  }
}

function scopeGuard(list: readonly string[], match: 'all' | 'any'): RequestHandler {
  const scopes = requiredScopeList(list)
  return (req: Request, _res: Response, next: NextFunction) => {
    try {
      checkScopes(req.auth, scopes, match)
      next()
    } catch (error) {
      next(error)
    }
  }
}

/** Express middleware, after `requireAuth`: the token must grant every one of `scopes` (else 403). */
export function requireScopes(...scopes: [string, ...string[]]): RequestHandler {
  return scopeGuard(scopes, 'all')
}

/** Express middleware, after `requireAuth`: the token must grant at least one of `scopes` (else 403). */
export function requireAnyScope(...scopes: [string, ...string[]]): RequestHandler {
  return scopeGuard(scopes, 'any')
}

/** Options of {@link bearerErrorHandler}. */
export interface BearerErrorHandlerOptions {
  /**
   * Called with every bearer-guard error before the answer is sent, e.g. to log `error.code` and
   * monitor failed authentication. The error never holds the token. Default: none.
   */
  onError?: (error: BearerError, req: Request) => void
}

/**
 * Express error middleware that answers bearer-guard errors itself: the error's status, its
 * `WWW-Authenticate` header and a JSON body `{ error, error_description }` (RFC 6750 names), without
 * the stack trace Express's default handler logs for every error. Other errors pass on untouched.
 * Register it after your routes: `app.use(bearerErrorHandler())`.
 */
export function bearerErrorHandler(options: BearerErrorHandlerOptions = {}): ErrorRequestHandler {
  return (error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (!isBearerError(error) || res.headersSent) {
      next(error)
      return
    }
    options.onError?.(error, req)
    res.status(error.status).set(error.headers)
    if (error.error === null) res.end()
    else res.json({ error: error.error, error_description: error.message })
  }
}
