import { http, HttpResponse, type JsonBodyType } from 'msw'
import type { SetupServer } from 'msw/node'
import { ISSUER } from '../helpers.js'

/** Where the fake provider of the msw tests publishes its keys. */
export const JWKS_URL = 'https://issuer.example.com/jwks'
/** OpenID Connect Discovery location of {@link ISSUER}. */
export const OIDC_URL = 'https://issuer.example.com/.well-known/openid-configuration'
/** RFC 8414 location of {@link ISSUER}. */
export const RFC8414_URL = 'https://issuer.example.com/.well-known/oauth-authorization-server'

/** What a route answers; called once per request, so it must build a fresh `Response`. */
export type Responder = () => Response | Promise<Response>

/** One mocked URL whose answer a test can change, and which counts its requests. */
export interface Route {
  /** Requests the route has received. */
  readonly hits: number
  /** Answers the next requests with `respond`. */
  answer(respond: Responder): void
}

/** Serves `respond` for GET `url` on the msw `server` until its handlers are reset. */
export function route(server: SetupServer, url: string, respond: Responder): Route {
  let current = respond
  let hits = 0
  server.use(
    http.get(url, () => {
      hits++
      return current()
    }),
  )
  return {
    get hits() {
      return hits
    },
    answer(next) {
      current = next
    },
  }
}

/** A responder for a JSON document. */
export function json(document: JsonBodyType): Responder {
  return () => HttpResponse.json(document)
}

/** A responder for a body sent as is, labelled `content-type` (JSON by default). */
export function raw(body: string, contentType = 'application/json', status = 200): Responder {
  return () => new HttpResponse(body, { status, headers: { 'content-type': contentType } })
}

/** A responder for a bare status. */
export function status(code: number, headers: Record<string, string> = {}): Responder {
  return () => new HttpResponse(null, { status: code, headers })
}

/** Authorization server metadata for `issuer` that points at `jwksUri`. */
export function metadata(overrides: Record<string, unknown> = {}, issuer = ISSUER): Record<string, unknown> {
  return { issuer, jwks_uri: JWKS_URL, token_endpoint: `${new URL(issuer).origin}/token`, ...overrides }
}

/** Every URL requested through `fetch` while a test runs, handled by msw or not. */
export class RequestLog {
  readonly urls: string[] = []

  constructor(server: SetupServer) {
    server.events.on('request:start', ({ request }) => {
      this.urls.push(request.url)
    })
  }

  /** How many times `url` was requested. */
  count(url: string): number {
    return this.urls.filter((requested) => requested === url).length
  }

  clear(): void {
    this.urls.length = 0
  }
}

/** A promise with its resolve function, to hold a response back until a test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}
