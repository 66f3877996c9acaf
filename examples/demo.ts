/**
 * `npm run demo`: starts a local authorization server (oidc-provider on 127.0.0.1) and an example
 * API guarded by bearer-guard, sends a few requests with real tokens, and prints what the API
 * answered. Nothing outside this machine is needed.
 *
 *   npm run demo                          # Express; prints the table and exits
 *   npm run demo -- --framework koa       # or fastify
 *   npm run demo -- --serve               # keeps both servers up and prints curl commands
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import type { VerifierOptions } from 'bearer-guard'
import { createApp as createExpressApp } from './express.js'
import { createApp as createFastifyApp } from './fastify.js'
import { createApp as createKoaApp } from './koa.js'
import { startLocalIssuer } from './support/local-issuer.js'

type Framework = 'express' | 'koa' | 'fastify'

interface RunningApi {
  url: string
  close(): Promise<void>
}

async function startApi(framework: Framework, options: VerifierOptions, port: number): Promise<RunningApi> {
  if (framework === 'fastify') {
    const app = await createFastifyApp(options)
    const url = await app.listen({ port, host: '127.0.0.1' })
    return { url, close: () => app.close() }
  }
  const handler = framework === 'express' ? createExpressApp(options) : createKoaApp(options).callback()
  const server: Server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

interface Check {
  what: string
  method: 'GET' | 'POST'
  path: string
  authorization?: string
  expected: number
}

function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
  claims.scope = 'read:users write:users'
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  for (const [index, row] of rows.entries()) {
    console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd())
    if (index === 0) console.log(widths.map((width) => '-'.repeat(width)).join('  '))
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { framework: { type: 'string', default: 'express' }, serve: { type: 'boolean', default: false } },
  })
  const framework = values.framework as Framework
  if (!['express', 'koa', 'fastify'].includes(framework)) {
    console.error('--framework must be express, koa or fastify')
    return 2
  }

  const issuer = await startLocalIssuer()
  const options: VerifierOptions = { issuer: issuer.issuer, audience: issuer.audience }
  const api = await startApi(framework, options, values.serve ? Number(process.env.PORT ?? 3000) : 0)
  console.log(`Local issuer (oidc-provider): ${issuer.issuer}   keys found through ${issuer.issuer}/.well-known/openid-configuration`)
  console.log(`${framework} API guarded by bearer-guard: ${api.url}   audience ${issuer.audience}\n`)

  const read = await issuer.token('read:users')
  const readWrite = await issuer.token('read:users write:users')
  const expired = await issuer.expiredToken('read:users')

  if (values.serve) {
    console.log('Try it (tokens are valid for 5 minutes):\n')
    console.log(`  curl -i ${api.url}/public`)
    console.log(`  curl -i ${api.url}/users`)
    console.log(`  curl -i -H "Authorization: Bearer ${read}" ${api.url}/users`)
    console.log(`  curl -i -X POST -H "Authorization: Bearer ${read}" ${api.url}/users`)
    console.log(`  curl -i -X POST -H "Authorization: Bearer ${readWrite}" ${api.url}/users\n`)
    console.log('Press Ctrl+C to stop.')
    const stop = () => void Promise.all([api.close(), issuer.close()]).then(() => process.exit(0))
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    return -1
  }

  const checks: Check[] = [
    { what: 'public route, no token', method: 'GET', path: '/public', expected: 200 },
    { what: 'no token', method: 'GET', path: '/users', expected: 401 },
    { what: 'Basic credentials', method: 'GET', path: '/users', authorization: 'Basic ZGVtbzpkZW1v', expected: 401 },
    { what: 'malformed Bearer header', method: 'GET', path: '/users', authorization: 'Bearer', expected: 400 },
    { what: 'read token, read route', method: 'GET', path: '/users', authorization: `Bearer ${read}`, expected: 200 },
    { what: 'read token, write route', method: 'POST', path: '/users', authorization: `Bearer ${read}`, expected: 403 },
    { what: 'read+write token, write route', method: 'POST', path: '/users', authorization: `Bearer ${readWrite}`, expected: 201 },
    { what: 'tampered token (scope added)', method: 'POST', path: '/users', authorization: `Bearer ${tamper(read)}`, expected: 401 },
    { what: 'expired token', method: 'GET', path: '/users', authorization: `Bearer ${expired}`, expected: 401 },
  ]

  const rows = [['request', 'case', 'status', 'WWW-Authenticate']]
  let failures = 0
  for (const check of checks) {
    const response = await fetch(`${api.url}${check.path}`, {
      method: check.method,
      headers: check.authorization === undefined ? {} : { authorization: check.authorization },
    })
    await response.arrayBuffer()
    const ok = response.status === check.expected
    if (!ok) failures++
    rows.push([
      `${check.method} ${check.path}`,
      check.what,
      `${response.status}${ok ? '' : ` (expected ${check.expected})`}`,
      response.headers.get('www-authenticate') ?? '',
    ])
  }
  printTable(rows)
  await Promise.all([api.close(), issuer.close()])
  console.log(failures === 0 ? '\nEvery answer is as expected.' : `\n${failures} answer(s) differ from what was expected.`)
  return failures === 0 ? 0 : 1
}

const code = await main()
if (code >= 0) process.exit(code)
