// Requests per second over loopback of one tiny app, unguarded and guarded, in Express, Koa and
// Fastify: bearer-guard next to express-oauth2-jwt-bearer (Express) and @fastify/jwt (Fastify), for
// RS256 and ES256, with autocannon and distinct tokens (a different one for every request). Each
// framework also gets a reference cell, LIMIT+parse: a plain middleware doing only the least work
// any verifier must do per request (split, decode, JSON.parse, crypto.verify; no claim checked), so
// the ratio any verifying guard can reach on this machine is measured in the same run.
//
//   node bench/http.mjs           about 2 minutes (run `npm run build` first: it imports dist/)
//   node bench/http.mjs --quick   about 10 s: every server answers valid tokens with 200 and bad ones
//                                 with 401, and a short load (1,600 requests per server, all servers
//                                 at once) finds no non-2xx; not for numbers
//
// Other flags: --duration=S (seconds per cell and round, default 4)  --rounds=N (default 2)
//              --warmup=S (default 1)  --connections=N (default 20)  --tokens=N (per algorithm)
//              --algs=RS256,ES256  --frameworks=express,koa,fastify  --offload (adds bearer-guard
//              with offloadSignatureChecks: true)  --verbose  --json FILE
//              --profile=DIR  (each server writes a V8 CPU profile into DIR, named after its pid;
//                              the pids are printed; read them with bench/cpuprofile-top.mjs)
//              --pin  (Linux, taskset: autocannon and this process on the last CPU, every server
//                      on the others, as with a separate load generator)
//
// Every server runs in its own child process (bench/http-server.mjs), started once and kept for
// the whole run; autocannon runs in this process. On a 2-core machine the load generator and the
// server still share the machine: the req/s are those of this pair, not of the server alone. The
// server's own CPU time is measured too (req per server CPU-second), which is less sensitive to
// other processes than wall-clock req/s.
//
// The unguarded app receives the same Authorization headers (same bytes on the wire), so the
// difference is the guard alone. Cells are timed in rounds; within a round the cells of one
// framework are adjacent, and the order is reversed from one round to the next (ABBA), so that the
// unguarded baseline and its guarded cells see the same moments of the machine.
//
// Fails (exit 1) on any non-2xx response, socket error or timeout during the timed load, on a
// guarded server whose handler saw a request without a verified token, and on the correctness
// checks before timing (valid token -> 200 with its sub as caller; forged, expired, foreign or
// missing token -> 401).

import { Buffer } from 'node:buffer'
import { execFileSync, fork } from 'node:child_process'
import { verify } from 'node:crypto'
import { once } from 'node:events'
import { availableParallelism } from 'node:os'
import { request as httpRequest } from 'node:http'
import { resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, URL } from 'node:url'

import autocannon from 'autocannon'

import {
  AUDIENCE,
  ISSUER,
  SCHEMES,
  commandLine,
  fail,
  failures,
  fmtInt,
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

const args = parseArgs(process.argv.slice(2), ['json'], ['offload', 'pin'])
if (args.help) {
  console.log(
    'usage: node bench/http.mjs [--quick] [--verbose] [--json FILE] [--duration=S] [--rounds=N] [--warmup=S] [--connections=N] [--tokens=N] [--algs=RS256,ES256] [--frameworks=express,koa,fastify] [--offload] [--pin]',
  )
  process.exit(0)
}
const QUICK = args.quick
const VERBOSE = args.verbose === true
const OFFLOAD = args.offload === true
const PIN = args.pin === true

/** With --pin: the CPUs (a taskset list) for the load generator, and for the servers. */
const PINNING = (() => {
  if (!PIN) return undefined
  const cpus = availableParallelism()
  if (cpus < 2) throw new Error('--pin needs at least 2 CPUs')
  return { client: String(cpus - 1), servers: cpus === 2 ? '0' : `0-${cpus - 2}` }
})()

/** Pins every thread of process `pid` to the CPU list `cpus` (taskset from util-linux). */
function pin(pid, cpus) {
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], { stdio: 'ignore' })
}
if (PINNING !== undefined) pin(process.pid, PINNING.client)
const PROFILE_DIR = args.profile === undefined ? undefined : resolve(args.profile)
const positiveNumber = (value, fallback, name) => {
  if (value === undefined) return fallback
  const number = Number(value)
  if (!(number > 0)) throw new Error(`--${name} must be a positive number`)
  return number
}
const DURATION = positiveNumber(args.duration, 4, 'duration')
const ROUNDS = positiveInt(args.rounds, QUICK ? 1 : 2, 'rounds')
const WARMUP = positiveNumber(args.warmup, 1, 'warmup')
// autocannon runs for whole seconds at least; --quick counts requests instead (per cell: warm-up, timed).
const QUICK_AMOUNTS = { warmup: 600, timed: 1000 }
const CONNECTIONS = positiveInt(args.connections, 20, 'connections')
const TOKENS = Math.max(2, positiveInt(args.tokens, QUICK ? 200 : 4096, 'tokens'))
const ALGS = args.algs === undefined ? ['RS256', 'ES256'] : args.algs.split(',')
const FRAMEWORKS = args.frameworks === undefined ? ['express', 'koa', 'fastify'] : args.frameworks.split(',')
for (const alg of ALGS) if (!['RS256', 'PS256', 'ES256', 'EdDSA'].includes(alg)) throw new Error(`unknown algorithm ${alg}`)
for (const framework of FRAMEWORKS) if (!['express', 'koa', 'fastify'].includes(framework)) throw new Error(`unknown framework ${framework}`)

/** Guards per framework; koa-jwt is not installed, so Koa has no peer. */
const PEERS = { express: ['express-oauth2-jwt-bearer'], koa: [], fastify: ['@fastify/jwt'] }
const TARGETS = { express: 0.75, koa: 0.45, fastify: 0.45 }

printMachine('bearer-guard HTTP benchmark (loopback, autocannon)' + (QUICK ? ' (--quick: correctness smoke test, numbers are meaningless)' : ''))
console.log(
  `libraries: bearer-guard ${ownVersion} (dist), express ${versionOf('express')}, koa ${versionOf('koa')} (+ @koa/router ${versionOf('@koa/router')}), ` +
    `fastify ${versionOf('fastify')}, express-oauth2-jwt-bearer ${versionOf('express-oauth2-jwt-bearer')}, @fastify/jwt ${versionOf('@fastify/jwt')}, autocannon ${versionOf('autocannon')}`,
)
console.log(
  `setup: ${CONNECTIONS} connections, ${ROUNDS} round(s) of ${QUICK ? `${QUICK_AMOUNTS.timed} requests` : `${DURATION} s`} per cell after ` +
    `${QUICK ? `${QUICK_AMOUNTS.warmup} requests` : `${WARMUP} s`} of warm-up, ` +
    `${TOKENS} distinct tokens per algorithm rotated per request; every server in its own child process` +
    (PINNING === undefined ? '' : `; pinned: autocannon on CPU ${PINNING.client}, servers on CPU ${PINNING.servers}`),
)
console.log()

// ---------------------------------------------------------------------------------------------
// Tokens, the JWK Set server, the child servers

const suites = {}
for (const alg of ALGS) suites[alg] = await makeSuite(alg, TOKENS)

/** µs of one bare crypto.verify of the suite's tokens, in this process before any load (median of 5 passes). */
function signatureMicros(suite) {
  const { hash, options } = SCHEMES[suite.alg]
  const key = { key: suite.publicKey, ...options }
  const passes = []
  for (let pass = 0; pass < (QUICK ? 1 : 5); pass++) {
    const started = performance.now()
    for (const { data, signature } of suite.limitInputs) if (!verify(hash, data, key, signature)) fail(`${suite.alg}: bare verify refused a token`)
    passes.push(((performance.now() - started) * 1000) / suite.limitInputs.length)
  }
  return median(passes)
}
const signatureUs = Object.fromEntries(ALGS.map((alg) => [alg, signatureMicros(suites[alg])]))
const jwks = await startJwksServer(Object.values(suites).map((suite) => suite.jwk))

const SERVER_SCRIPT = fileURLToPath(new URL('./http-server.mjs', import.meta.url))

async function startServer(cell) {
  const execArgv = PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`]
  const child = fork(SERVER_SCRIPT, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv })
  if (PINNING !== undefined) pin(child.pid, PINNING.servers)
  cell.pid = child.pid
  const suite = cell.alg === undefined ? undefined : suites[cell.alg]
  const reply = (type) =>
    new Promise((resolveReply, rejectReply) => {
      const onMessage = (message) => {
        if (message.type === type) {
          child.off('message', onMessage)
          resolveReply(message)
        } else if (message.type === 'error') {
          child.off('message', onMessage)
          rejectReply(new Error(`${cell.label}: ${message.message}`))
        }
      }
      child.on('message', onMessage)
    })
  const listening = reply('listening')
  child.send({
    type: 'start',
    framework: cell.framework,
    guard: cell.guard,
    alg: cell.alg,
    jwk: suite?.jwk,
    pem: suite?.pem,
    jwksUri: jwks.url,
    issuer: ISSUER,
    audience: AUDIENCE,
  })
  const { port } = await listening
  cell.port = port
  cell.mark = (track = false) => {
    const answer = reply('mark')
    child.send({ type: 'mark', track })
    return answer
  }
  cell.stop = async () => {
    if (child.exitCode !== null) return
    const exited = once(child, 'exit')
    child.send({ type: 'stop' })
    await exited
  }
}

function get(port, authorization) {
  return new Promise((resolveGet, rejectGet) => {
    const headers = authorization === undefined ? {} : { authorization }
    const req = httpRequest({ host: '127.0.0.1', port, path: '/orders', headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolveGet({ status: res.statusCode, body, wwwAuthenticate: res.headers['www-authenticate'] }))
    })
    req.on('error', rejectGet)
    req.end()
  })
}

// ---------------------------------------------------------------------------------------------
// Cells

const cells = []
for (const framework of FRAMEWORKS) {
  cells.push({ framework, guard: 'none', alg: undefined, label: `${framework} unguarded` })
  for (const alg of ALGS) {
    for (const guard of ['LIMIT+parse', 'bearer-guard', ...(OFFLOAD ? ['bearer-guard-offload'] : []), ...PEERS[framework]]) {
      cells.push({ framework, guard, alg, label: `${framework} ${guard} ${alg}` })
    }
  }
}
for (const cell of cells) Object.assign(cell, { tokenCursor: 0, rates: [], cpuRates: [], serverShares: [], clientShares: [], elus: [], latencies: [], non2xx: 0, errors: 0, timeouts: 0, served: 0, authenticated: 0 })


async function shutdown() {
  await Promise.all(cells.map((cell) => cell.stop?.()))
  await jwks.close()
}

// Start every server, then check each one.
const setupStart = performance.now()
await Promise.all(cells.map((cell) => startServer(cell)))
for (const cell of cells) {
  const suite = suites[cell.alg ?? ALGS[0]]
  for (const index of [0, 1, TOKENS - 1]) {
    const answer = await get(cell.port, `Bearer ${suite.tokens[index]}`)
    const expectedCaller = cell.guard === 'none' ? null : JSON.parse(Buffer.from(suite.tokens[index].split('.')[1], 'base64url')).sub
    if (answer.status !== 200) fail(`${cell.label}: valid token #${index} answered ${answer.status}`)
    else if (JSON.parse(answer.body).caller !== expectedCaller) fail(`${cell.label}: valid token #${index} answered caller ${answer.body}`)
  }
  if (cell.guard === 'none') continue
  for (const bad of [...suite.bad, { name: 'no token', token: undefined }]) {
    // The LIMIT+parse reference checks the signature only, not the claims.
    if (cell.guard === 'LIMIT+parse' && bad.code !== 'signature_invalid' && bad.token !== undefined) continue
    const answer = await get(cell.port, bad.token === undefined ? undefined : `Bearer ${bad.token}`)
    if (answer.status !== 401) fail(`${cell.label}: "${bad.name}" answered ${answer.status}, expected 401`)
    else if (!/^Bearer\b/i.test(answer.wwwAuthenticate ?? '') && cell.guard.startsWith('bearer-guard')) {
      fail(`${cell.label}: "${bad.name}" answered 401 without a Bearer challenge`)
    }
  }
}
if (failures.length > 0) {
  console.error(`\n${failures.length} correctness check(s) failed; not timing a broken setup.`)
  await shutdown()
  process.exit(1)
}
console.log(
  `correctness: ${cells.length} servers started and checked in ${((performance.now() - setupStart) / 1000).toFixed(1)} s ` +
    '(valid token -> 200 with its sub; forged, expired, foreign, missing -> 401)',
)

// ---------------------------------------------------------------------------------------------
// Load

/** One autocannon run against a cell (`seconds`, or `amount` requests); with `record`, its numbers go into the cell. */
async function load(cell, { seconds, amount }, record) {
  const tokens = suites[cell.alg ?? ALGS[0]].tokens
  const count = tokens.length
  const setupRequest = (request) => {
    const token = tokens[cell.tokenCursor++ % count] // each cell goes through the tokens in turn
    return { ...request, headers: { authorization: `Bearer ${token}` } }
  }
  const before = await cell.mark(!record) // the warm-up collects the callers
  const clientCpuBefore = process.cpuUsage()
  const wallBefore = performance.now()
  const result = await autocannon({
    url: `http://127.0.0.1:${cell.port}`,
    connections: CONNECTIONS,
    ...(amount === undefined ? { duration: seconds } : { amount }),
    requests: [{ method: 'GET', path: '/orders', setupRequest }],
  })
  const wall = performance.now() - wallBefore
  const clientCpu = process.cpuUsage(clientCpuBefore)
  const after = await cell.mark()
  const served = after.served - before.served
  const authenticated = after.authenticated - before.authenticated
  const ok = result['2xx']
  cell.non2xx += result.non2xx
  cell.errors += result.errors
  cell.timeouts += result.timeouts
  cell.served += served
  cell.authenticated += authenticated
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    const codes = Object.entries(result.statusCodeStats ?? {})
      .map(([code, { count: n }]) => `${code}: ${n}`)
      .join(', ')
    fail(`${cell.label}: ${result.non2xx} non-2xx (${codes}), ${result.errors} errors, ${result.timeouts} timeouts in ${result['2xx'] + result.non2xx} responses`)
  }
  if (cell.guard !== 'none' && authenticated !== served) fail(`${cell.label}: the handler saw ${served - authenticated} request(s) without a verified token`)
  if (!record && cell.guard !== 'none' && after.distinct < Math.min(served, count) * 0.99) {
    fail(`${cell.label}: ${served} requests carried only ${after.distinct} distinct tokens during the warm-up`)
  }
  if (!record) return
  const serverCpuMs = after.cpu - before.cpu
  const activeMs = after.elu.active - before.elu.active
  const idleMs = after.elu.idle - before.elu.idle
  cell.rates.push((ok * 1000) / wall)
  cell.cpuRates.push((ok * 1000) / serverCpuMs)
  cell.serverShares.push(serverCpuMs / wall)
  cell.clientShares.push((clientCpu.user + clientCpu.system) / 1000 / wall)
  cell.elus.push(activeMs / (activeMs + idleMs))
  cell.latencies.push({ p50: result.latency.p50, p99: result.latency.p99, mean: result.latency.average })
}

// --quick loads all the servers at once (autocannon takes about a second per run, however short):
// the numbers mean nothing then, only the checks count.
if (QUICK) await Promise.all(cells.map((cell) => load(cell, { amount: QUICK_AMOUNTS.warmup }, false)))
else for (const cell of cells) await load(cell, { seconds: WARMUP }, false)

// Rounds: forward, then backward, ...
const timingStart = performance.now()
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? cells : [...cells].reverse()
  if (QUICK) await Promise.all(order.map((cell) => load(cell, { amount: QUICK_AMOUNTS.timed }, true)))
  else for (const cell of order) await load(cell, { seconds: DURATION }, true)
  if (process.stderr.isTTY) process.stderr.write(`round ${round + 1}/${ROUNDS} done\r`)
}
const timingSeconds = (performance.now() - timingStart) / 1000
await shutdown()
if (PROFILE_DIR !== undefined) {
  console.log(`CPU profiles in ${PROFILE_DIR} (CPU.<date>.<time>.<pid>.*.cpuprofile):`)
  for (const cell of cells) console.log(`  pid ${cell.pid}  ${cell.label}`)
}

// ---------------------------------------------------------------------------------------------
// Report

const results = {}
const baselineOf = (cell) => cells.find((c) => c.framework === cell.framework && c.guard === 'none')
const referenceOf = (cell) => cells.find((c) => c.framework === cell.framework && c.alg === cell.alg && c.guard === 'LIMIT+parse')
const tableRows = []
for (const cell of cells) {
  const rate = median(cell.rates)
  const cpuRate = median(cell.cpuRates)
  const base = baselineOf(cell)
  const ratio = cell.guard === 'none' ? 1 : rate / median(base.rates)
  const cpuRatio = cell.guard === 'none' ? 1 : cpuRate / median(base.cpuRates)
  const reference = cell.guard === 'none' || cell.guard === 'LIMIT+parse' ? undefined : referenceOf(cell)
  const toReference = reference === undefined ? null : rate / median(reference.rates)
  // Server CPU per request beyond the unguarded app's: what the guard costs in situ.
  const authCpuUs = cell.guard === 'none' ? null : 1e6 / cpuRate - 1e6 / median(base.cpuRates)
  const key = cell.guard === 'none' ? `${cell.framework} unguarded` : `${cell.framework} ${cell.guard} ${cell.alg}`
  results[key] = {
    framework: cell.framework,
    guard: cell.guard,
    alg: cell.alg ?? null,
    requestsPerSecond: summary(cell.rates),
    requestsPerServerCpuSecond: summary(cell.cpuRates),
    serverCpuShare: summary(cell.serverShares),
    serverEventLoopUtilization: summary(cell.elus),
    clientCpuShare: summary(cell.clientShares),
    latencyMs: cell.latencies,
    ratioToUnguarded: cell.guard === 'none' ? null : ratio,
    cpuRatioToUnguarded: cell.guard === 'none' ? null : cpuRatio,
    ratioToLimitParse: toReference,
    authServerCpuMicros: authCpuUs,
    authServerCpuPerSignature: authCpuUs === null ? null : authCpuUs / signatureUs[cell.alg],
    target: cell.guard === 'bearer-guard' ? TARGETS[cell.framework] : null,
    non2xx: cell.non2xx,
    errors: cell.errors,
    timeouts: cell.timeouts,
    responses: cell.served,
  }
  const spread = cell.rates.length < 2 ? '-' : `${((100 * (Math.max(...cell.rates) - Math.min(...cell.rates))) / rate).toFixed(1)}%`
  const goal = `≥${TARGETS[cell.framework].toFixed(2)}`
  const target = cell.guard.startsWith('bearer-guard')
    ? `${goal} ${ratio >= TARGETS[cell.framework] ? 'met' : 'NOT met'}`
    : cell.guard === 'LIMIT+parse'
      ? `${goal} ${ratio >= TARGETS[cell.framework] ? 'reachable' : 'out of reach'}`
      : ''
  tableRows.push([
    key,
    fmtInt(rate),
    spread,
    cell.guard === 'none' ? '' : `${ratio.toFixed(2)}`,
    fmtInt(cpuRate),
    cell.guard === 'none' ? '' : `${cpuRatio.toFixed(2)}`,
    toReference === null ? '' : toReference.toFixed(2),
    authCpuUs === null ? '' : `${authCpuUs.toFixed(1)} (${(authCpuUs / signatureUs[cell.alg]).toFixed(2)}x)`,
    `${(100 * median(cell.serverShares)).toFixed(0)}% / ${(100 * median(cell.clientShares)).toFixed(0)}%`,
    `${median(cell.latencies.map((l) => l.p50))} / ${median(cell.latencies.map((l) => l.p99))}`,
    target,
  ])
}
console.log()
console.log('req/s: median of rounds (2xx responses / wall time); ratio = guarded / unguarded of the same framework;')
console.log('req/server-CPU-s: 2xx responses / CPU time of the server process; CPU: server / autocannon process, share of one core;')
console.log('/LIMIT+parse = req/s / req/s of the LIMIT+parse reference (same framework and algorithm); target: "out of reach" when')
console.log('even LIMIT+parse, the least work any verifier must do, stays below it on this machine;')
console.log(`auth CPU = server CPU µs per request beyond the unguarded app's (x one bare crypto.verify in this process: ${ALGS.map((alg) => `${alg} ${signatureUs[alg].toFixed(1)} µs`).join(', ')})`)
printTable(['cell', 'req/s', 'spread', 'ratio', 'req/srv-CPU-s', 'ratio(CPU)', '/LIMIT+parse', 'auth CPU µs/req', 'CPU srv/client', 'p50/p99 ms', 'target (req/s ratio)'], tableRows)
const serverShares = cells.flatMap((cell) => cell.serverShares)
console.log()
console.log(
  `server CPU share while loaded: median ${(100 * median(serverShares)).toFixed(0)}%, min ${(100 * Math.min(...serverShares)).toFixed(0)}% of one core; load average now ${loadText()}`,
)
console.log(`timed for ${timingSeconds.toFixed(1)} s; whole run ${((performance.now() - startedAt) / 1000).toFixed(1)} s`)
if (VERBOSE) {
  console.log()
  console.log('each round: req/s [server CPU share, event-loop utilization]')
  for (const cell of cells) {
    console.log(`${cell.label.padEnd(44)} ${cell.rates.map((rate, r) => `${fmtInt(rate)} [${(100 * cell.serverShares[r]).toFixed(0)}%, ${(100 * cell.elus[r]).toFixed(0)}%]`).join('  ')}`)
  }
}

if (args.json !== undefined && failures.length === 0) {
  const report = {
    benchmark: 'bench/http.mjs',
    command: commandLine(),
    quick: QUICK,
    startedAt: startedAtDate.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { ...machine(), loadAverageAtStart: loadAtStart, loadAverageAtEnd: machine().loadAverage },
    setup: { connections: CONNECTIONS, rounds: ROUNDS, durationSeconds: DURATION, warmupSeconds: WARMUP, tokensPerAlgorithm: TOKENS, algorithms: ALGS, frameworks: FRAMEWORKS, pinning: PINNING ?? null },
    bareSignatureMicros: signatureUs,
    results,
  }
  writeReport(args.json, report)
}

if (failures.length > 0) {
  console.error(`\n${failures.length} check(s) failed`)
  process.exit(1)
}
