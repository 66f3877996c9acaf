// In-process cost per request of bearer-guard's Express, Koa and Fastify adapters, next to peer
// middlewares, on the same distinct tokens, against one bare crypto.verify of the same token.
//
//   node bench/adapters.mjs           about 40 s (run `npm run build` first: it imports dist/)
//   node bench/adapters.mjs --quick   a few seconds: checks that every middleware accepts valid
//                                     tokens and refuses bad ones; exits non-zero otherwise
//
// Other flags: --algs=RS256,ES256 (default RS256)  --tokens=N  --rounds=N  --round-ms=N
//              --warmup-ms=N  --only=name,name (subset of the rows)  --verbose  --json FILE
//
// No HTTP: each middleware is called directly, one request at a time, with minimal fake objects
// built afresh for every request (the same for every middleware of one framework). Every fake
// request is an object on IncomingMessage.prototype with `rawHeaders` set, as Node's HTTP parser
// leaves it, so `headers` and `headersDistinct` are built lazily by Node's own getters on first
// read, and each middleware pays for what it reads:
//   Express  req = that message on a prototype with get() and is(), plus originalUrl, query,
//            protocol; res = {}, next = resolves the request's promise (or rejects it)
//   Koa      ctx = { method, url, originalUrl, req: message, request, state },
//            next = () => resolved promise
//   Fastify  bearer-guard: the decorated `app.requireAuth` hook, after `await app.register(plugin)`
//            and `await app.ready()`, called with { raw: message, body: undefined, auth: null };
//            @fastify/jwt: its `request.jwtVerify()` decorator called on { headers, user: null }
//            (taken from a real request of an `app.inject` warm-up)
//
// Rows:
//   LIMIT                         crypto.verify of the token's signing input with a cached KeyObject
//   harness (express noop)        the fake objects and the promise, with a middleware that calls next()
//   bearer-guard core verify      verifier.verify(token), awaited
//   bearer-guard core authenticate  authenticateRequest(verifier, { method, url, rawHeaders }), awaited
//   bearer-guard express|koa|fastify  the adapters, on a verifier with a static key set ({ jwks })
//   express-oauth2-jwt-bearer     auth({ issuer, audience, jwksUri, tokenSigningAlg }); the JWK Set is
//                                 served on 127.0.0.1 and its cache is warm before timing
//   express-jwt + jwks-rsa        expressjwt({ secret: jwksRsa.expressJwtSecret({ jwksUri, cache: true }),
//                                 algorithms, issuer, audience }), JWK Set on 127.0.0.1, cache warm
//   express-jwt (static PEM)      expressjwt({ secret: pem, algorithms, issuer, audience })
//                                 (jsonwebtoken has no EdDSA: no express-jwt rows for it)
//   @fastify/jwt                  register({ secret: { public: pem }, verify: { algorithms,
//                                 allowedIss, allowedAud } }), then request.jwtVerify()
// Reported: µs per request (median of rounds), spread, requests per CPU-second, and the ratio to
// LIMIT (µs per request / µs per bare verify): the adapter target is ≤ 1.3×.

import { verify } from 'node:crypto'
import { IncomingMessage } from 'node:http'
import { performance } from 'node:perf_hooks'

import fastifyJwt from '@fastify/jwt'
import { auth as oauth2JwtBearer } from 'express-oauth2-jwt-bearer'
import { expressjwt } from 'express-jwt'
import Fastify from 'fastify'
import jwksRsa from 'jwks-rsa'

import { authenticateRequest, createVerifier } from '../dist/index.js'
import { requireAuth as expressRequireAuth } from '../dist/express.js'
import bearerGuardFastify from '../dist/fastify.js'
import { requireAuth as koaRequireAuth } from '../dist/koa.js'
import {
  AUDIENCE,
  ISSUER,
  SCHEMES,
  commandLine,
  fail,
  failures,
  fmtInt,
  fmtSpread,
  loadText,
  machine,
  makeSuite,
  median,
  ownVersion,
  parseArgs,
  positiveInt,
  printMachine,
  printTable,
  startJwksServer,
  summary,
  versionOf,
  writeReport,
} from './support.mjs'

const startedAt = performance.now()
const startedAtDate = new Date()
const loadAtStart = machine().loadAverage

// ---------------------------------------------------------------------------------------------
// Options

const ALL_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA']
const args = parseArgs(process.argv.slice(2), ['json'])
if (args.help) {
  console.log('usage: node bench/adapters.mjs [--quick] [--verbose] [--json FILE] [--algs=RS256,ES256] [--tokens=N] [--rounds=N] [--round-ms=N] [--warmup-ms=N] [--only=row,...]')
  process.exit(0)
}
const QUICK = args.quick
const VERBOSE = args.verbose === true
const TOKENS = Math.max(2, positiveInt(args.tokens, QUICK ? 200 : 4096, 'tokens'))
const ROUNDS = positiveInt(args.rounds, QUICK ? 1 : 7, 'rounds')
const ROUND_MS = positiveInt(args['round-ms'], QUICK ? 40 : 400, 'round-ms')
const WARMUP_MS = positiveInt(args['warmup-ms'], QUICK ? 20 : 300, 'warmup-ms')
const ALGS = args.algs === undefined ? ['RS256'] : args.algs.split(',')
for (const alg of ALGS) if (!ALL_ALGS.includes(alg)) throw new Error(`unknown algorithm ${alg}; one of ${ALL_ALGS}`)
const ONLY = args.only === undefined ? undefined : args.only.split(',')

printMachine('bearer-guard adapter benchmark (in-process, no HTTP)' + (QUICK ? ' (--quick: correctness smoke test, numbers are meaningless)' : ''))
console.log(
  `libraries: bearer-guard ${ownVersion} (dist), express-oauth2-jwt-bearer ${versionOf('express-oauth2-jwt-bearer')}, ` +
    `express-jwt ${versionOf('express-jwt')} (jsonwebtoken ${versionOf('jsonwebtoken')}), jwks-rsa ${versionOf('jwks-rsa')}, ` +
    `@fastify/jwt ${versionOf('@fastify/jwt')} (fast-jwt ${versionOf('fast-jwt')}), fastify ${versionOf('fastify')}`,
)
console.log(`setup: ${TOKENS} distinct tokens per algorithm, ${ROUNDS} round(s) of ${ROUND_MS} ms per row after ${WARMUP_MS} ms warm-up, one request at a time`)
console.log()

// ---------------------------------------------------------------------------------------------
// Fake requests: fresh objects per request, the same for every middleware of one framework.

const HOST = '127.0.0.1:3000'
const PATH = '/orders'
const ACCEPT = 'application/json'

// Express's request prototype chain ends in IncomingMessage.prototype, as on a real request.
const expressRequestProto = {
  __proto__: IncomingMessage.prototype,
  get(name) {
    return this.headers[name.toLowerCase()]
  },
  is() {
    return null // no body
  },
}

/**
 * A fresh request as Node's HTTP parser leaves it: `rawHeaders` set, `headers` and `headersDistinct`
 * built lazily from them on first read, by Node's own getters. An empty token means no
 * Authorization header at all.
 */
function incomingMessage(token, proto = IncomingMessage.prototype) {
  const message = Object.create(proto)
  message.method = 'GET'
  message.url = PATH
  message.rawHeaders = token === '' ? ['Host', HOST, 'Accept', ACCEPT] : ['Host', HOST, 'Accept', ACCEPT, 'Authorization', `Bearer ${token}`]
  message._addHeaderLines(message.rawHeaders, message.rawHeaders.length) // what node's HTTP parser calls
  return message
}

function expressRequest(token) {
  const req = incomingMessage(token, expressRequestProto)
  req.originalUrl = PATH
  req.protocol = 'http'
  req.query = {}
  req.body = undefined
  return req
}

function koaContext(token) {
  return {
    method: 'GET',
    url: PATH,
    originalUrl: PATH,
    req: incomingMessage(token),
    request: { body: undefined },
    state: {},
  }
}

function fastifyRequest(token) {
  return { raw: incomingMessage(token), body: undefined, auth: null }
}

const fakeResponse = {}
const RESOLVED = Promise.resolve()
const koaNext = () => RESOLVED

/** Runs an Express-style middleware on a fresh fake request; resolves with the request after next(). */
function runExpress(middleware, token) {
  return new Promise((resolveNext, rejectNext) => {
    const req = expressRequest(token)
    middleware(req, fakeResponse, (error) => (error === undefined || error === null ? resolveNext(req) : rejectNext(error)))
  })
}

// ---------------------------------------------------------------------------------------------
// The rows

const jwksServers = []

async function makeRows(suite) {
  const { alg, jwk, pem, publicKey, tokens, jtis, limitInputs } = suite
  const { hash, options } = SCHEMES[alg]
  const keyOptions = { key: publicKey, ...options }
  const jwks = await startJwksServer([jwk])
  jwksServers.push(jwks)
  const rows = []
  const add = (name, group, row) => rows.push({ name, group, ...row })

  add('LIMIT', 'reference', {
    sync: true,
    run: (i) => verify(hash, limitInputs[i].data, keyOptions, limitInputs[i].signature),
    ok: (result) => result === true,
    limit: true,
  })

  const noop = (_req, _res, next) => next()
  add('harness (express noop)', 'reference', {
    run: (i) => runExpress(noop, tokens[i]),
    ok: (req) => req.method === 'GET',
    harness: true,
  })

  const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [jwk] } })
  add('bearer-guard core verify', 'bearer-guard', {
    run: (i) => verifier.verify(tokens[i]),
    ok: (result, i) => result.payload.jti === jtis[i],
  })
  add('bearer-guard core authenticate', 'bearer-guard', {
    run: (i) => {
      const { method, url, rawHeaders } = incomingMessage(tokens[i])
      return authenticateRequest(verifier, { method, url, rawHeaders })
    },
    ok: (result, i) => result.payload.jti === jtis[i],
  })

  const expressGuard = expressRequireAuth(verifier)
  add('bearer-guard express', 'express', {
    run: (i) => runExpress(expressGuard, tokens[i]),
    ok: (req, i) => req.auth?.payload.jti === jtis[i],
  })

  const koaGuard = koaRequireAuth(verifier)
  add('bearer-guard koa', 'koa', {
    run: async (i) => {
      const ctx = koaContext(tokens[i])
      await koaGuard(ctx, koaNext)
      return ctx
    },
    ok: (ctx, i) => ctx.state.auth?.payload.jti === jtis[i],
  })

  const fastifyApp = Fastify({ logger: false })
  await fastifyApp.register(bearerGuardFastify, { verifier })
  await fastifyApp.ready()
  const fastifyHook = fastifyApp.requireAuth
  add('bearer-guard fastify', 'fastify', {
    run: async (i) => {
      const request = fastifyRequest(tokens[i])
      await fastifyHook(request, fakeResponse)
      return request
    },
    ok: (request, i) => request.auth?.payload.jti === jtis[i],
  })
  rows.close = [() => fastifyApp.close()]

  // Peers (Express)
  const oauth2 = oauth2JwtBearer({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.url, tokenSigningAlg: alg })
  add('express-oauth2-jwt-bearer', 'express', {
    run: (i) => runExpress(oauth2, tokens[i]),
    ok: (req, i) => req.auth?.payload.jti === jtis[i],
  })

  // jsonwebtoken (under express-jwt) has no EdDSA: those rows are left out for it.
  const jsonwebtokenSupports = alg !== 'EdDSA'
  const viaJwksRsa = expressjwt({
    secret: jwksRsa.expressJwtSecret({ jwksUri: jwks.url, cache: true, rateLimit: false }),
    algorithms: [alg],
    issuer: ISSUER,
    audience: AUDIENCE,
  })
  if (jsonwebtokenSupports) {
    add('express-jwt + jwks-rsa', 'express', {
      run: (i) => runExpress(viaJwksRsa, tokens[i]),
      ok: (req, i) => req.auth?.jti === jtis[i],
    })
  }

  const viaPem = expressjwt({ secret: pem, algorithms: [alg], issuer: ISSUER, audience: AUDIENCE })
  if (jsonwebtokenSupports) {
    add('express-jwt (static PEM)', 'express', {
      run: (i) => runExpress(viaPem, tokens[i]),
      ok: (req, i) => req.auth?.jti === jtis[i],
    })
  }

  // Peer (Fastify): @fastify/jwt's request decorator, taken from a real request.
  const peerApp = Fastify({ logger: false })
  await peerApp.register(fastifyJwt, { secret: { public: pem }, verify: { algorithms: [alg], allowedIss: ISSUER, allowedAud: AUDIENCE } })
  let jwtVerify
  peerApp.get('/capture', async (request) => {
    jwtVerify = request.jwtVerify
    return 'ok'
  })
  await peerApp.ready()
  await peerApp.inject({ method: 'GET', url: '/capture' })
  if (typeof jwtVerify !== 'function') throw new Error('@fastify/jwt: request.jwtVerify not found')
  const peerRequestProto = { jwtVerify }
  add('@fastify/jwt', 'fastify', {
    run: async (i) => {
      const request = { __proto__: peerRequestProto, headers: incomingMessage(tokens[i]).headers, user: null }
      await request.jwtVerify()
      return request
    },
    ok: (request, i) => request.user?.jti === jtis[i],
  })
  rows.close.push(() => peerApp.close())

  return ONLY === undefined ? rows : Object.assign(rows.filter((row) => ONLY.includes(row.name) || row.limit), { close: rows.close })
}

// ---------------------------------------------------------------------------------------------
// Correctness first


async function outcome(row, i) {
  try {
    const result = row.sync ? row.run(i) : await row.run(i)
    return { accepted: row.ok(result, i), result }
  } catch (error) {
    return { accepted: false, error }
  }
}

const statusOf = (error) => error?.status ?? error?.statusCode

async function checkCorrectness(suite, rows) {
  const samples = [...new Set([0, 1, suite.tokens.length >> 1, suite.tokens.length - 1])]
  const originals = suite.tokens
  for (const row of rows) {
    for (const index of samples) {
      const { accepted, error } = await outcome(row, index)
      if (!accepted) fail(`${suite.alg} ${row.name} rejected valid token #${index}${error ? `: ${error.code ?? ''} ${error.message}` : ''}`)
    }
    if (row.limit || row.harness) continue
    // Bad tokens: put each in slot 0 for the call, then restore it.
    for (const bad of [...suite.bad, { name: 'no token', token: '' }]) {
      if (bad.token === '' && row.name === 'bearer-guard core verify') continue
      const saved = originals[0]
      originals[0] = bad.token
      let result
      try {
        result = await outcome(row, 0)
      } finally {
        originals[0] = saved
      }
      if (result.accepted || result.error === undefined) fail(`${suite.alg} ${row.name} ACCEPTED a bad request (${bad.name})`)
      else if (statusOf(result.error) !== 401 && !row.name.startsWith('bearer-guard core')) {
        fail(`${suite.alg} ${row.name} refused "${bad.name}" with status ${statusOf(result.error)}, expected 401`)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Timing (as in bench/verify.mjs: interleaved rounds, rotating order, CPU share)

const CHECK_EVERY = 8

async function measure(cell, ms) {
  const { row, count } = cell
  const { run, ok } = row
  let i = cell.cursor
  let ops = 0
  const cpuStart = process.cpuUsage()
  const start = performance.now()
  const deadline = start + ms
  let now
  do {
    for (let k = 0; k < CHECK_EVERY; k++) {
      try {
        const result = row.sync ? run(i) : await run(i)
        if (!ok(result, i)) cell.bad++
      } catch (error) {
        cell.bad++
        cell.firstError ??= error
      }
      if (++i === count) i = 0
    }
    ops += CHECK_EVERY
  } while ((now = performance.now()) < deadline)
  const cpu = process.cpuUsage(cpuStart)
  const cpuMs = (cpu.user + cpu.system) / 1000
  cell.cursor = i
  cell.ops += ops
  return { rate: (ops * 1000) / (now - start), cpuRate: (ops * 1000) / cpuMs, cpuShare: cpuMs / (now - start) }
}

// A side measurement: what reading headers / headersDistinct costs on a real, fresh IncomingMessage
// (the fake requests above pay the same lazy construction for what their middleware reads).
function measureHeaderObjects(ms) {
  const token = 'x'.repeat(900)
  const rawHeaders = ['Host', HOST, 'User-Agent', 'bench/1.0', 'Accept', ACCEPT, 'Accept-Encoding', 'gzip, deflate', 'Connection', 'keep-alive', 'Authorization', `Bearer ${token}`]
  const cases = {
    'new IncomingMessage': () => {
      const message = new IncomingMessage(null)
      message._addHeaderLines(rawHeaders, rawHeaders.length) // what node's HTTP parser calls
      return message
    },
    '+ .headers': () => {
      const message = new IncomingMessage(null)
      message._addHeaderLines(rawHeaders, rawHeaders.length) // what node's HTTP parser calls
      return message.headers
    },
    '+ .headers + .headersDistinct': () => {
      const message = new IncomingMessage(null)
      message._addHeaderLines(rawHeaders, rawHeaders.length) // what node's HTTP parser calls
      return message.headers && message.headersDistinct
    },
  }
  const results = {}
  for (let round = 0; round < 3; round++) {
    for (const [name, fn] of Object.entries(cases)) {
      let n = 0
      const start = performance.now()
      const deadline = start + ms
      let now
      do {
        for (let k = 0; k < 64; k++) fn()
        n += 64
      } while ((now = performance.now()) < deadline)
      ;(results[name] ??= []).push(((now - start) * 1000) / n)
    }
  }
  const us = Object.fromEntries(Object.entries(results).map(([name, values]) => [name, median(values)]))
  return {
    headersUs: us['+ .headers'] - us['new IncomingMessage'],
    headersDistinctUs: us['+ .headers + .headersDistinct'] - us['+ .headers'],
    rawHeaderCount: rawHeaders.length / 2,
  }
}

// ---------------------------------------------------------------------------------------------
// Run

const suites = []
for (const alg of ALGS) suites.push(await makeSuite(alg, TOKENS))
console.log(`tokens: ${ALGS.join(', ')}, ${TOKENS} each, ${Math.min(...suites[0].tokens.map((t) => t.length))}-${Math.max(...suites[0].tokens.map((t) => t.length))} characters`)

const cells = []
const closers = []
for (const suite of suites) {
  const rows = await makeRows(suite)
  closers.push(...rows.close)
  await checkCorrectness(suite, rows)
  for (const row of rows) cells.push({ alg: suite.alg, row, name: row.name, count: suite.tokens.length, cursor: 0, ops: 0, bad: 0, rates: [], cpuRates: [], cpuShares: [] })
}
const jwksFetches = jwksServers.reduce((sum, server) => sum + server.hits(), 0)

async function shutdown() {
  for (const close of closers) await close()
  for (const server of jwksServers) await server.close()
}

if (failures.length > 0) {
  console.error(`\n${failures.length} correctness check(s) failed; not timing a broken setup.`)
  await shutdown()
  process.exit(1)
}
console.log('correctness: every middleware accepts the sample tokens (result on the request) and refuses forged, expired, foreign and missing ones with 401')

for (const cell of cells) await measure(cell, WARMUP_MS)
for (const cell of cells) {
  if (cell.bad > 0) fail(`${cell.alg} ${cell.name} rejected ${cell.bad} valid token(s) during warm-up: ${cell.firstError?.message ?? 'wrong result'}`)
  cell.ops = 0
  cell.bad = 0
}
const timingStart = performance.now()
for (let round = 0; round < ROUNDS; round++) {
  for (const alg of ALGS) {
    const algCells = cells.filter((cell) => cell.alg === alg)
    for (let j = 0; j < algCells.length; j++) {
      const cell = algCells[(j + round) % algCells.length]
      const { rate, cpuRate, cpuShare } = await measure(cell, ROUND_MS)
      cell.rates.push(rate)
      cell.cpuRates.push(cpuRate)
      cell.cpuShares.push(cpuShare)
    }
  }
  if (process.stderr.isTTY) process.stderr.write(`round ${round + 1}/${ROUNDS} done\r`)
}
const timingSeconds = (performance.now() - timingStart) / 1000
for (const cell of cells) {
  if (cell.bad > 0) fail(`${cell.alg} ${cell.name} rejected ${cell.bad} of ${cell.ops} valid tokens while timed: ${cell.firstError?.message ?? 'wrong result'}`)
}
if (jwksServers.reduce((sum, server) => sum + server.hits(), 0) !== jwksFetches) {
  console.error('note: a peer fetched the JWK Set again while timed')
}
const headerObjects = measureHeaderObjects(QUICK ? 20 : 200)
await shutdown()

// ---------------------------------------------------------------------------------------------
// Report

const results = {}
for (const alg of ALGS) {
  const algCells = cells.filter((cell) => cell.alg === alg)
  const limit = algCells.find((cell) => cell.row.limit)
  const harness = algCells.find((cell) => cell.row.harness)
  const limitUs = 1e6 / median(limit.rates)
  const limitCpuUs = 1e6 / median(limit.cpuRates)
  const harnessUs = harness === undefined ? undefined : 1e6 / median(harness.rates)
  results[alg] = { limitUs, limitCpuUs, harnessUs, rows: {} }

  console.log()
  console.log(`${alg}: µs per request (median of rounds, spread), requests per CPU-second, ratio to one bare crypto.verify`)
  const tableRows = []
  for (const cell of algCells) {
    const us = 1e6 / median(cell.rates)
    const cpuUs = 1e6 / median(cell.cpuRates)
    const ratio = us / limitUs
    const cpuRatio = cpuUs / limitCpuUs
    results[alg].rows[cell.name] = {
      group: cell.row.group,
      usPerRequest: us,
      requestsPerSecond: summary(cell.rates),
      requestsPerCpuSecond: summary(cell.cpuRates),
      cpuShare: summary(cell.cpuShares),
      ratioToLimit: ratio,
      cpuRatioToLimit: cpuRatio,
      operations: cell.ops,
    }
    const target = cell.row.group === 'reference' ? '' : cell.name.startsWith('bearer-guard ') && !cell.name.includes('core') ? (ratio <= 1.3 ? 'met' : 'NOT met') : ''
    tableRows.push([cell.name, us.toFixed(2), fmtSpread(cell.rates).trim() || '-', fmtInt(median(cell.cpuRates)), `${ratio.toFixed(2)}x`, `${cpuRatio.toFixed(2)}x`, target])
  }
  printTable(['row', 'µs/req', 'spread', 'req/CPU-s', 'xLIMIT', 'xLIMIT(CPU)', '≤1.3x'], tableRows)
}

const shares = cells.map((cell) => median(cell.cpuShares))
const medianShare = median(shares)
const minShare = Math.min(...cells.flatMap((cell) => cell.cpuShares))
const contended = medianShare < 0.9 || minShare < 0.75
console.log()
console.log(
  `CPU share of the timed loops (process CPU time / wall time): median ${(100 * medianShare).toFixed(0)}%, min ${(100 * minShare).toFixed(0)}%; load average now ${loadText()}`,
)
if (contended && !QUICK) console.log('WARNING: other processes competed for the CPU; prefer the req/CPU-s and xLIMIT(CPU) columns.')
console.log(
  `node: on a fresh IncomingMessage with ${headerObjects.rawHeaderCount} headers, the first read of .headers costs ${headerObjects.headersUs.toFixed(2)} µs ` +
    `and of .headersDistinct ${headerObjects.headersDistinctUs.toFixed(2)} µs more (built lazily from rawHeaders; bearer-guard reads .headers and .rawHeaders, not .headersDistinct)`,
)
if (VERBOSE) {
  console.log()
  console.log('each round: req/s [CPU share]')
  for (const cell of cells) {
    console.log(`${cell.alg.padEnd(6)} ${cell.name.padEnd(32)} ${cell.rates.map((rate, r) => `${fmtInt(rate)} [${(100 * cell.cpuShares[r]).toFixed(0)}%]`).join('  ')}`)
  }
}
console.log()
console.log(`timed for ${timingSeconds.toFixed(1)} s; whole run ${((performance.now() - startedAt) / 1000).toFixed(1)} s`)

if (args.json !== undefined && failures.length === 0) {
  const report = {
    benchmark: 'bench/adapters.mjs',
    command: commandLine(),
    quick: QUICK,
    startedAt: startedAtDate.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { ...machine(), loadAverageAtStart: loadAtStart, loadAverageAtEnd: machine().loadAverage },
    setup: { tokensPerAlgorithm: TOKENS, rounds: ROUNDS, roundMs: ROUND_MS, warmupMs: WARMUP_MS, algorithms: ALGS },
    cpuShare: { median: medianShare, min: minShare, contended },
    headerObjects,
    results,
  }
  writeReport(args.json, report)
}

if (failures.length > 0) {
  console.error(`\n${failures.length} check(s) failed`)
  process.exit(1)
}
// Keep-alive agents of the peers' JWKS clients may hold the loop open.
process.exit(0)
