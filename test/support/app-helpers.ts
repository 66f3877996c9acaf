/**
 * Shared pieces of the framework adapter tests: real servers on 127.0.0.1, raw requests that can
 * repeat a header (which `fetch` cannot), tokens, the exact challenges to expect, and the HTTP
 * contract every adapter must honour.
 */
import { createServer, request, type IncomingHttpHeaders, type OutgoingHttpHeaders, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { VerifierOptions } from 'bearer-guard'
import { AUDIENCE, b64url, claims, ISSUER, jwksOf, makeKey, signToken } from '../helpers.js'

/** The key every adapter test signs with (EC: fast to generate). */
export const appKey = makeKey('ES256', 'app-key')

/** Options of a static-JWKS verifier that accepts tokens signed with {@link appKey}. */
export const verifierOptions: VerifierOptions = { issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(appKey) }

/** The realm the contract's realm routes are configured with. */
export const REALM = 'example api'

/** A valid token granting `scope` (space-separated), for subject `user-1`. */
export function tokenWith(scope = 'read:users', overrides: Record<string, unknown> = {}): string {
  return signToken(appKey, claims({ scope, ...overrides }))
}

/** A correctly signed token that expired a minute ago. */
export function expiredToken(): string {
  const now = Math.floor(Date.now() / 1000)
  return tokenWith('read:users', { iat: now - 600, exp: now - 60 })
}

/** A valid token whose payload was swapped after signing (claims `sub: admin`, scope `admin`). */
export function tamperedToken(): string {
  const [header, , signature] = tokenWith().split('.')
  return `${header}.${b64url(JSON.stringify(claims({ sub: 'admin', scope: 'admin read:users write:users' })))}.${signature}`
}

/** The exact `WWW-Authenticate` values the adapters must send. */
export const CHALLENGE = {
  missing: 'Bearer',
  missingWithRealm: `Bearer realm="${REALM}"`,
  expired: 'Bearer error="invalid_token", error_description="the token has expired (exp claim)"',
  expiredWithRealm: `Bearer realm="${REALM}", error="invalid_token", error_description="the token has expired (exp claim)"`,
  tampered: 'Bearer error="invalid_token", error_description="the token signature is invalid"',
  malformed: 'Bearer error="invalid_request", error_description="the authorization header is not valid bearer credentials"',
  duplicated: 'Bearer error="invalid_request", error_description="the request carries more than one access token"',
  insufficient: (scope: string) => `Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="${scope}"`,
} as const

/** A running server; `url` has no trailing slash. */
export interface RunningServer {
  url: string
  close(): Promise<void>
}

/** Serves `listener` on 127.0.0.1 on a free port. */
export async function serve(listener: RequestListener): Promise<RunningServer> {
  const server = createServer(listener)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error === undefined ? resolve() : reject(error)))
      }),
  }
}

/** What a test reads of a response. */
export interface Answer {
  status: number
  /** The `WWW-Authenticate` header, or `null`. */
  challenge: string | null
  body: string
}

/** GET `url` with `fetch`, sending `authorization` when given. */
export async function get(url: string, authorization?: string): Promise<Answer> {
  const response = await fetch(url, { headers: authorization === undefined ? {} : { authorization } })
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: await response.text() }
}

/** GET `url` with a valid token granting `scope`, and parse the JSON answer (which must be 200). */
export async function getJson(url: string, scope?: string): Promise<unknown> {
  const answer = await get(url, `Bearer ${tokenWith(scope)}`)
  expect(answer.status, answer.body).toBe(200)
  return JSON.parse(answer.body) as unknown
}

/**
 * GET `url` through `node:http`, whose header values may be arrays: `{ authorization: [a, b] }`
 * sends two `Authorization` header lines, which `fetch` would merge into one.
 */
export function rawGet(url: string, headers: Record<string, string | readonly string[]>): Promise<Answer & { headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'GET', agent: false }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('error', reject)
      response.on('end', () => {
        resolve({
          status: response.statusCode ?? 0,
          challenge: response.headers['www-authenticate'] ?? null,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        })
      })
    })
    for (const [name, value] of Object.entries(headers)) outgoing.setHeader(name, value)
    outgoing.on('error', reject)
    outgoing.end()
  })
}

/**
 * The server of {@link describeAdapterContract}. `url` must serve, with the adapter under test and
 * NO application error handler (the framework's default error handling answers):
 *
 * - `GET /me`: require a valid token; answer `{ sub, scopes }` read from the framework's auth result.
 * - `GET /users`: require `read:users` AND `write:users`; answer `{ ok: true }`.
 * - `GET /any`: require `admin` OR `write:users`; answer `{ ok: true }`.
 * - `GET /optional`: optional authentication; answer `{ sub }` or `{ anonymous: true }` when no result.
 *
 * `realmUrl` must serve `GET /me` like above, with a verifier configured with `realm: REALM`, built
 * from options passed to the adapter directly (not from a ready verifier).
 */
export interface ContractServer {
  url: string
  realmUrl: string
  close(): Promise<void>
}

function expectNoToken(answer: Answer, token: string): void {
  expect(answer.body).not.toContain(token)
  const signature = token.split('.')[2]
  if (signature !== undefined && signature.length > 8) expect(answer.body).not.toContain(signature)
}

/** The HTTP behaviour every adapter must show, run against the server `start` builds. */
export function describeAdapterContract(framework: string, start: () => Promise<ContractServer>): void {
  describe(`${framework}: HTTP contract with the framework's default error handling`, () => {
    let server: ContractServer
    beforeAll(async () => {
      server = await start()
    })
    afterAll(async () => {
      await server.close()
    })

    it('answers a request without credentials 401 with exactly "WWW-Authenticate: Bearer"', async () => {
      const answer = await get(`${server.url}/me`)
      expect(answer.status).toBe(401)
      expect(answer.challenge).toBe(CHALLENGE.missing)
    })

    it('treats another scheme (Basic) as no bearer credentials', async () => {
      const answer = await get(`${server.url}/me`, 'Basic dXNlcjpwYXNz')
      expect(answer.status).toBe(401)
      expect(answer.challenge).toBe(CHALLENGE.missing)
    })

    it('puts the realm in the challenge when the options set one', async () => {
      const missing = await get(`${server.realmUrl}/me`)
      expect(missing.status).toBe(401)
      expect(missing.challenge).toBe(CHALLENGE.missingWithRealm)
      const expired = await get(`${server.realmUrl}/me`, `Bearer ${expiredToken()}`)
      expect(expired.status).toBe(401)
      expect(expired.challenge).toBe(CHALLENGE.expiredWithRealm)
      expect(await getJson(`${server.realmUrl}/me`)).toEqual({ sub: 'user-1', scopes: ['read:users'] })
    })

    it('lets a valid token through and hands the handler its payload and scopes', async () => {
      expect(await getJson(`${server.url}/me`, 'read:users profile')).toEqual({ sub: 'user-1', scopes: ['read:users', 'profile'] })
    })

    it('accepts the scheme name in any case', async () => {
      const answer = await get(`${server.url}/me`, `bEaReR ${tokenWith()}`)
      expect(answer.status).toBe(200)
    })

    it('answers an expired token 401 invalid_token, without the token in the body', async () => {
      const token = expiredToken()
      const answer = await get(`${server.url}/me`, `Bearer ${token}`)
      expect(answer.status).toBe(401)
      expect(answer.challenge).toBe(CHALLENGE.expired)
      expectNoToken(answer, token)
    })

    it('answers a tampered token 401 invalid_token, without the token in the body', async () => {
      const token = tamperedToken()
      const answer = await get(`${server.url}/me`, `Bearer ${token}`)
      expect(answer.status).toBe(401)
      expect(answer.challenge).toBe(CHALLENGE.tampered)
      expectNoToken(answer, token)
    })

    it('answers a malformed Authorization header 400 invalid_request', async () => {
      const alone = await get(`${server.url}/me`, 'Bearer')
      expect(alone.status).toBe(400)
      expect(alone.challenge).toBe(CHALLENGE.malformed)
      const token = tokenWith()
      const twoParts = await get(`${server.url}/me`, `Bearer ${token} extra`)
      expect(twoParts.status).toBe(400)
      expect(twoParts.challenge).toBe(CHALLENGE.malformed)
      expectNoToken(twoParts, token)
      const ab = await get(`${server.url}/me`, 'Bearer a b')
      expect(ab.status).toBe(400)
      expect(ab.challenge).toBe(CHALLENGE.malformed)
    })

    it('answers two Authorization headers 400, even when both are valid', async () => {
      const token = tokenWith()
      const answer = await rawGet(`${server.url}/me`, { authorization: [`Bearer ${token}`, `Bearer ${tokenWith()}`] })
      expect(answer.status).toBe(400)
      expect(answer.challenge).toBe(CHALLENGE.duplicated)
      expectNoToken(answer, token)
      const optional = await rawGet(`${server.url}/optional`, { authorization: [`Bearer ${token}`, 'Bearer x'] })
      expect(optional.status).toBe(400)
    })

    it('answers a token in both the header and the query 400', async () => {
      const token = tokenWith()
      const answer = await get(`${server.url}/me?access_token=${token}`, `Bearer ${token}`)
      expect(answer.status).toBe(400)
      expect(answer.challenge).toBe(CHALLENGE.duplicated)
      expectNoToken(answer, token)
    })

    it('requires every scope of requireScopes: 403 insufficient_scope with the scope attribute', async () => {
      const answer = await get(`${server.url}/users`, `Bearer ${tokenWith('read:users')}`)
      expect(answer.status).toBe(403)
      expect(answer.challenge).toBe(CHALLENGE.insufficient('read:users write:users'))
      expect(await getJson(`${server.url}/users`, 'write:users read:users')).toEqual({ ok: true })
    })

    it('requires one scope of requireAnyScope: 403 insufficient_scope with the scope attribute', async () => {
      const answer = await get(`${server.url}/any`, `Bearer ${tokenWith('read:users')}`)
      expect(answer.status).toBe(403)
      expect(answer.challenge).toBe(CHALLENGE.insufficient('admin write:users'))
      expect(await getJson(`${server.url}/any`, 'write:users')).toEqual({ ok: true })
      expect(await getJson(`${server.url}/any`, 'admin')).toEqual({ ok: true })
    })

    it('answers a scoped route 401 (not 403) without a token, and 401 for a bad one', async () => {
      const missing = await get(`${server.url}/users`)
      expect(missing.status).toBe(401)
      expect(missing.challenge).toBe(CHALLENGE.missing)
      const expired = await get(`${server.url}/users`, `Bearer ${expiredToken()}`)
      expect(expired.status).toBe(401)
      expect(expired.challenge).toBe(CHALLENGE.expired)
    })

    it('optional mode: runs the handler without auth when there are no credentials', async () => {
      const answer = await get(`${server.url}/optional`)
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.body)).toEqual({ anonymous: true })
      expect(await getJson(`${server.url}/optional`)).toEqual({ sub: 'user-1' })
    })

    it('optional mode: never downgrades bad credentials to anonymous', async () => {
      const expired = await get(`${server.url}/optional`, `Bearer ${expiredToken()}`)
      expect(expired.status).toBe(401)
      expect(expired.challenge).toBe(CHALLENGE.expired)
      const tampered = await get(`${server.url}/optional`, `Bearer ${tamperedToken()}`)
      expect(tampered.status).toBe(401)
      expect(tampered.challenge).toBe(CHALLENGE.tampered)
      const malformed = await get(`${server.url}/optional`, 'Bearer')
      expect(malformed.status).toBe(400)
      expect(malformed.challenge).toBe(CHALLENGE.malformed)
    })
  })
}

/** GET `url` over cleartext HTTP/2 (h2c), where requests have no `headersDistinct`. */
export async function h2Get(url: string, authorization?: string): Promise<Answer> {
  const { connect } = await import('node:http2')
  const target = new URL(url)
  const session = connect(target.origin)
  try {
    return await new Promise<Answer>((resolve, reject) => {
      session.on('error', reject)
      const headers: OutgoingHttpHeaders = { ':method': 'GET', ':path': `${target.pathname}${target.search}` }
      if (authorization !== undefined) headers.authorization = authorization
      const stream = session.request(headers)
      let status = 0
      let challenge: string | null = null
      const chunks: Buffer[] = []
      stream.on('response', (response) => {
        status = Number(response[':status'])
        const value = response['www-authenticate']
        challenge = typeof value === 'string' ? value : null
      })
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('error', reject)
      stream.on('end', () => resolve({ status, challenge, body: Buffer.concat(chunks).toString('utf8') }))
      stream.end()
    })
  } finally {
    session.close()
  }
}
