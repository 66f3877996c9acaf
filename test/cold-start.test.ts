/**
 * Cold start over real loopback HTTP: how many round trips the first token on a fresh verifier
 * costs, counted as HTTP requests and TCP connections on the issuer's own server.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createVerifier } from '../src/index.js'
import { AUDIENCE, claims, jwksOf, makeKey, signToken } from './helpers.js'

const key = makeKey('ES256')
let server: Server
let issuer: string
let requests: string[] = []
let connections = 0

// A fresh server (on a fresh port) per test: each test starts without a pooled connection, as a
// process that just started.
beforeEach(async () => {
  requests = []
  connections = 0
  server = createServer((request, response) => {
    requests.push(request.url ?? '')
    const body =
      request.url === '/.well-known/openid-configuration' ? { issuer, jwks_uri: `${issuer}/jwks` } : request.url === '/jwks' ? jwksOf(key) : undefined
    response.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}))
  })
  server.on('connection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterEach(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const tokenFor = (n: number): string => signToken(key, claims({ iss: issuer, jti: `cold-${n}` }))

describe('cold start', () => {
  it('first token with issuer discovery: 2 round trips (metadata, then JWK Set) on 1 connection, then none', async () => {
    const verifier = createVerifier({ issuer, audience: AUDIENCE })
    await expect(verifier.verify(tokenFor(1))).resolves.toMatchObject({ payload: { jti: 'cold-1' } })
    expect(requests).toEqual(['/.well-known/openid-configuration', '/jwks'])
    expect(connections).toBe(1)
    await expect(verifier.verify(tokenFor(2))).resolves.toBeDefined()
    expect(requests).toHaveLength(2)
  })

  it('first token with a configured jwksUri: 1 round trip', async () => {
    const verifier = createVerifier({ issuer, audience: AUDIENCE, jwksUri: `${issuer}/jwks` })
    await expect(verifier.verify(tokenFor(3))).resolves.toBeDefined()
    expect(requests).toEqual(['/jwks'])
    expect(connections).toBe(1)
  })

  it('100 concurrent first tokens: one metadata fetch and one JWK Set fetch in all', async () => {
    const verifier = createVerifier({ issuer, audience: AUDIENCE })
    const results = await Promise.allSettled(Array.from({ length: 100 }, (_, n) => verifier.verify(tokenFor(n))))
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(100)
    expect(requests).toEqual(['/.well-known/openid-configuration', '/jwks'])
    expect(connections).toBe(1)
  })
})

describe('key fetches under fake timers', () => {
  it('settle when a test suite fakes the global timers (setImmediate included)', async () => {
    vi.useFakeTimers()
    try {
      const verifier = createVerifier({ issuer, audience: AUDIENCE, jwksUri: `${issuer}/jwks`, fetch: () => Promise.resolve(Response.json(jwksOf(key))) })
      await expect(verifier.verify(tokenFor(4))).resolves.toBeDefined()
    } finally {
      vi.useRealTimers()
    }
  })
})
