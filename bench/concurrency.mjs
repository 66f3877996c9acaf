// Two measurements the core benchmark does not make, side by side in one run:
//   - 16 verifications in flight: bearer-guard with signature checks on the event loop and with
//     `offloadSignatureChecks` (libuv's thread pool), against single-threaded bare `crypto.verify`,
//     and bare `crypto.verify` itself on the thread pool with 16 in flight (no parsing: the ceiling);
//   - the verified-token cache (`tokenCacheSize`): ops/s of a hit, each token arriving as a fresh
//     string (as from a socket), median of rounds, next to fast-jwt's own cache in the same run.
//
//   node bench/concurrency.mjs [--quick] [--tokens=N] [--algs=RS256,ES256] [--json FILE]
//
// Correctness first: every verifier must accept the suite's tokens and refuse its bad ones; any
// failure exits 1. --quick runs tiny sizes and checks only that.
import { Buffer } from 'node:buffer'
import { verify } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createVerifier as createFastJwtVerifier } from 'fast-jwt'
import { createVerifier } from '../dist/index.js'
import { AUDIENCE, commandLine, fail, failures, fmtInt, ISSUER, machine, makeSuite, median, parseArgs, positiveInt, printMachine, printTable, SCHEMES, writeReport } from './support.mjs'

const args = parseArgs(process.argv.slice(2), ['json'])
const QUICK = args.quick
const TOKENS = positiveInt(args.tokens, QUICK ? 200 : 6_000, 'tokens')
const ALGS = args.algs === undefined ? ['RS256', 'ES256', 'EdDSA'] : args.algs.split(',')
const IN_FLIGHT = 16

/** Single-threaded bare `crypto.verify` over the suite, ops/s. */
function bareVerify(suite) {
  const { hash, options } = SCHEMES[suite.alg]
  const key = { key: suite.publicKey, ...options }
  const started = performance.now()
  for (const { data, signature } of suite.limitInputs) if (!verify(hash, data, key, signature)) fail(`${suite.alg}: bare verify refused a token`)
  return suite.limitInputs.length / ((performance.now() - started) / 1000)
}

/**
 * `IN_FLIGHT` lanes of bare `crypto.verify` on libuv's thread pool (no parsing, no checks), ops/s:
 * the most offloading to the thread pool can give on this machine.
 */
async function bareAsyncInFlight(suite) {
  const { hash, options } = SCHEMES[suite.alg]
  const key = { key: suite.publicKey, ...options }
  const inputs = suite.limitInputs
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < inputs.length) {
        const { data, signature } = inputs[next++]
        const valid = await new Promise((resolve) => verify(hash, data, key, signature, (error, ok) => resolve(error === null && ok)))
        if (!valid) fail(`${suite.alg}: bare async verify refused a token`)
      }
    }),
  )
  return inputs.length / ((performance.now() - started) / 1000)
}

/** `IN_FLIGHT` workers verifying the suite's tokens with `verifier`, ops/s. */
async function inFlight(verifier, tokens) {
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < tokens.length) await verifier.verify(tokens[next++])
    }),
  )
  return tokens.length / ((performance.now() - started) / 1000)
}

const CACHE_ROUNDS = QUICK ? 2 : 9

/**
 * Cache hits with fresh strings, minus the cost of making the strings, ops/s: the median of
 * `CACHE_ROUNDS` rounds, each making and then looking up every token 4 times. `lookup` returns the
 * result or a promise of it (awaited).
 */
async function cacheHits(lookup, tokens) {
  const bytes = tokens.map((token) => Buffer.from(token, 'latin1'))
  const perRound = QUICK ? 1 : 4
  const rates = []
  for (let round = 0; round < CACHE_ROUNDS; round++) {
    let started = performance.now()
    for (let pass = 0; pass < perRound; pass++) for (const raw of bytes) raw.toString('latin1')
    const making = performance.now() - started
    started = performance.now()
    for (let pass = 0; pass < perRound; pass++) for (const raw of bytes) await lookup(raw.toString('latin1'))
    rates.push((perRound * bytes.length) / ((performance.now() - started - making) / 1000))
  }
  return median(rates)
}

/** Runs `run` (which returns ops/s) and adds the process CPU time it took per operation, in µs. */
async function withCpu(operations, run) {
  const before = process.cpuUsage()
  const rate = await run()
  const used = process.cpuUsage(before)
  return { rate, cpuMicros: (used.user + used.system) / operations }
}

async function checked(verifier, suite, label) {
  for (const token of suite.tokens.slice(0, 4)) {
    await verifier.verify(token).catch((error) => fail(`${label} ${suite.alg}: refused a valid token (${error.code ?? error})`))
  }
  for (const bad of suite.bad) {
    const accepted = await verifier.verify(bad.token).then(
      () => true,
      () => false,
    )
    if (accepted) fail(`${label} ${suite.alg}: accepted a bad token (${bad.name})`)
  }
  return verifier
}

printMachine('bearer-guard concurrency and token-cache benchmark')
console.log(`setup: ${TOKENS} distinct tokens per algorithm; ${IN_FLIGHT} verifications in flight\n`)
const rows = []
const cpuRows = []
const results = {}
for (const alg of ALGS) {
  const suite = await makeSuite(alg, TOKENS)
  const options = { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [suite.jwk] } }
  const onLoop = await checked(createVerifier(options), suite, 'event loop')
  const offloaded = await checked(createVerifier({ ...options, offloadSignatureChecks: true }), suite, 'offloaded')
  const cached = await checked(createVerifier({ ...options, tokenCacheSize: TOKENS }), suite, 'cached')
  await inFlight(onLoop, suite.tokens.slice(0, 200)) // warm-up
  await inFlight(offloaded, suite.tokens.slice(0, 200))
  const bareRun = await withCpu(suite.tokens.length, () => bareVerify(suite))
  const bare = bareRun.rate
  const loop16 = await inFlight(onLoop, suite.tokens)
  const offloadRun = await withCpu(suite.tokens.length, () => inFlight(offloaded, suite.tokens))
  const offload16 = offloadRun.rate
  await bareAsyncInFlight(suite) // warm-up
  const bareAsyncRun = await withCpu(suite.tokens.length, () => bareAsyncInFlight(suite))
  const bareAsync16 = bareAsyncRun.rate
  cpuRows.push([alg, bareRun.cpuMicros.toFixed(1), bareAsyncRun.cpuMicros.toFixed(1), offloadRun.cpuMicros.toFixed(1), (2e6 / offloadRun.cpuMicros / bare).toFixed(2) + 'x'])
  for (const token of suite.tokens) await cached.verify(token) // fill the cache
  const hits = await cacheHits((token) => cached.verify(token), suite.tokens)
  // fast-jwt's own verified-token cache, for reference (its verify is synchronous with a static key).
  const fastJwt = createFastJwtVerifier({ key: suite.pem, algorithms: [alg], allowedIss: ISSUER, allowedAud: AUDIENCE, cache: TOKENS })
  if (fastJwt.cache === null) fail('fast-jwt: its token cache is off')
  for (const bad of suite.bad) {
    let accepted = true
    try {
      fastJwt(bad.token)
    } catch {
      accepted = false
    }
    if (accepted) fail(`fast-jwt cached ${alg}: accepted a bad token (${bad.name})`)
  }
  for (const token of suite.tokens) fastJwt(token)
  const fastJwtHits = await cacheHits((token) => fastJwt(token), suite.tokens)
  results[alg] = { cpuMicrosPerVerification: { bare: bareRun.cpuMicros, bareAsync16: bareAsyncRun.cpuMicros, offloaded16: offloadRun.cpuMicros }, bareVerify: bare, eventLoop16: loop16, offloaded16: offload16, bareAsync16, offloadedToBare: offload16 / bare, bareAsyncToBare: bareAsync16 / bare, cacheHits: hits, fastJwtCacheHits: fastJwtHits }
  rows.push([alg, fmtInt(bare), fmtInt(loop16), fmtInt(offload16), `${(offload16 / bare).toFixed(2)}x`, `${(bareAsync16 / bare).toFixed(2)}x`, fmtInt(hits), fmtInt(fastJwtHits), `${(hits / fastJwtHits).toFixed(2)}x`])
}
printTable(['alg', 'bare verify', `event loop x${IN_FLIGHT}`, `offloaded x${IN_FLIGHT}`, 'offloaded/bare', `bare async x${IN_FLIGHT}/bare`, 'cache hit ops/s', 'fast-jwt cache hit', 'hit ratio'], rows)
console.log(`\nbare async x${IN_FLIGHT}: bare crypto.verify on the thread pool, ${IN_FLIGHT} in flight, no parsing or checks (the ceiling of offloading here)`)
console.log('\nprocess CPU µs per verification (all threads); 2 cores / that CPU bounds the offloaded throughput')
printTable(['alg', 'bare verify', `bare async x${IN_FLIGHT}`, `offloaded x${IN_FLIGHT}`, 'bound / bare'], cpuRows)
if (QUICK) console.log('\n--quick: correctness only; the numbers mean nothing')
if (args.json !== undefined && failures.length === 0) {
  writeReport(args.json, { benchmark: 'bench/concurrency.mjs', command: commandLine(), quick: QUICK, finishedAt: new Date().toISOString(), machine: machine(), setup: { tokensPerAlgorithm: TOKENS, inFlight: IN_FLIGHT, cacheRounds: CACHE_ROUNDS }, results })
}
if (failures.length > 0) {
  console.error(`\n${failures.length} correctness failure(s)`)
  process.exit(1)
}
