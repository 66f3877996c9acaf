import { checkScopes, requiredScopeList } from './guard.js'
import type { ScopeMatch } from './scopes.js'
import type { VerifiedToken } from './verifier.js'

/**
 * A handler argument that carries a verification result, as the adapters leave it: Express
 * `req.auth`, Fastify `request.auth`, or Koa `ctx.state.auth`.
 */
export type AuthCarrier = { auth?: VerifiedToken | null | undefined } | { state: { auth?: VerifiedToken | null | undefined } }

type ScopedMethod<This, Args extends [AuthCarrier, ...unknown[]], Return> = (this: This, ...args: Args) => Return | Promise<Return>

/** The result on the handler's first argument: `req.auth`, `request.auth` or `ctx.state.auth`. */
function findAuth(first: unknown): unknown {
  if (typeof first !== 'object' || first === null) return undefined
  if ('auth' in first) return (first as { auth?: unknown }).auth
  const state: unknown = (first as { state?: unknown }).state
  return typeof state === 'object' && state !== null ? (state as { auth?: unknown }).auth : undefined
}

function guarded<This, Args extends [AuthCarrier, ...unknown[]], Return>(
  method: ScopedMethod<This, Args, Return>,
  scopes: readonly string[],
  match: ScopeMatch,
): (this: This, ...args: Args) => Promise<Return> {
  return async function (this: This, ...args: Args): Promise<Return> {
    checkScopes(findAuth(args[0]) as VerifiedToken | undefined, scopes, match)
    return method.apply(this, args)
  }
}

/** A method decorator for both TypeScript 5 standard decorators and `experimentalDecorators`. */
export interface ScopeDecorator {
  /** TypeScript 5 standard decorator. */
  <This, Args extends [AuthCarrier, ...unknown[]], Return>(
    method: ScopedMethod<This, Args, Return>,
    context: ClassMethodDecoratorContext<This, ScopedMethod<This, Args, Return>>,
  ): (this: This, ...args: Args) => Promise<Return>
  /** Legacy `experimentalDecorators`. */
  <Args extends [AuthCarrier, ...unknown[]], Return>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<(...args: Args) => Return | Promise<Return>>,
  ): void
}

function scopeDecorator(list: readonly string[], match: ScopeMatch): ScopeDecorator {
  const scopes = requiredScopeList(list)
  const notAMethod = () => new TypeError('bearer-guard: scope decorators apply to class methods only')
  return ((method: unknown, contextOrKey: unknown, descriptor?: PropertyDescriptor) => {
    if (descriptor !== undefined) {
      // Legacy form: an accessor's descriptor has no function `value` to guard.
      if (typeof descriptor.value !== 'function') throw notAMethod()
      descriptor.value = guarded(descriptor.value as ScopedMethod<unknown, [AuthCarrier], unknown>, scopes, match)
      return undefined
    }
    const kind = typeof contextOrKey === 'object' && contextOrKey !== null ? (contextOrKey as { kind?: unknown }).kind : undefined
    if (typeof method !== 'function' || kind !== 'method') throw notAMethod()
    return guarded(method as ScopedMethod<unknown, [AuthCarrier], unknown>, scopes, match)
  }) as ScopeDecorator
}

/**
 * Method decorator: the decorated handler runs only when the request's token grants every one of
 * `scopes`. It reads the result an adapter left on the handler's request or context argument
 * (`req.auth`, `request.auth`, `ctx.state.auth`), so the route must be guarded by `requireAuth`
 * (or the Fastify plugin) first. The decorated method becomes async; it rejects with
 * `MissingTokenError` (401) when there is no result, or `InsufficientScopeError` (403, with
 * `scope="…"`) when a scope is missing, which every adapter's error handling answers correctly.
 *
 * Works with TypeScript 5 standard decorators and with `experimentalDecorators`.
 *
 * @example
 * class UsersController {
 *   @RequireScopes('read:users')
 *   async list(req: Request, res: Response) { res.json(await users.all()) }
 * }
 */
export function RequireScopes(...scopes: [string, ...string[]]): ScopeDecorator {
  return scopeDecorator(scopes, 'all')
}

/** Like {@link RequireScopes}, but one of `scopes` suffices. */
export function RequireAnyScope(...scopes: [string, ...string[]]): ScopeDecorator {
  return scopeDecorator(scopes, 'any')
}
