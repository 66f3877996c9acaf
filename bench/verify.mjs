// Throughput of JWT access-token verification: bearer-guard against the node:crypto limit and
// against jose, fast-jwt and aws-jwt-verify, in one process and one run, on the same distinct tokens.
//
//   npm run bench                 builds dist/, then runs the full benchmark (about a minute)
//   node bench/verify.mjs --quick a few hundred tokens, one short round: checks that the bench
//                                 works and that every library verifies correctly; not for numbers
//
// Other flags: --tokens=N  --rounds=N  --round-ms=N  --warmup-ms=N
//              --algs=RS256,ES256  --libs=bearer-guard,fast-jwt  (subsets, e.g. for profiling)
//              --verbose  (also ops per CPU-second, and the ops/s and CPU share of every round)
//              --json FILE  (or --json=FILE) writes every measured number, the machine and the
//                           command as JSON (read by bench/chart.mjs)
//
// Columns:
//   LIMIT        crypto.verify of one precomputed signature with a cached KeyObject
//   LIMIT+parse  by hand: split the token, base64url-decode header and payload, JSON.parse both,
//                decode the signature, crypto.verify: the least work any verifier must do
//   bearer-guard createVerifier({ issuer, audience, jwks: { keys: [jwk] } }).verify(token), awaited
//   jose         jwtVerify(token, importJWK(jwk)) (WebCrypto CryptoKey), awaited
//   fast-jwt     createVerifier({ key: pem, algorithms, allowedIss, allowedAud, cache: false })
//   aws-jwt-verify JwtVerifier.create({ issuer, audience, jwksUri }) with the key set put in its
//                cache by cacheJwks({ keys: [jwk] }) (nothing is fetched), verify(token) awaited;
//                it has no PS256, so that cell is empty
//
// Each cell is the median ops/s over the rounds, and in parentheses the spread over the rounds,
// (max - min) / median. Libraries are interleaved within each round, in an order that rotates from
// round to round, so that a slow moment of the machine does not land on one library only.
// The CPU share of the timed loops (process CPU time / wall time) is printed too: well under 100%
// means other processes took the CPU, and the run prints a warning and ops per CPU-second.
// Exits non-zero if any library rejects a valid token (during the checks or while timed), or if
// bearer-guard (or any other verifier) accepts a forged, expired or foreign token.

import { Buffer } from 'node:buffer'
import { verify } from 'node:crypto'
import os from 'node:os'
import { performance } from 'node:perf_hooks'

import { JwtVerifier as AwsJwtVerifier } from 'aws-jwt-verify'
import { createVerifier as createFastJwtVerifier } from 'fast-jwt'
import { importJWK, jwtVerify } from 'jose'
import { createVerifier } from '../dist/index.js'
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
  printTable,
  summary,
  versionOf,
  writeReport,
} from './support.mjs'

const startedAt = performance.now()

// ---------------------------------------------------------------------------------------------
// Options

const ALL_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA']
const ALL_LIBS = ['LIMIT', 'LIMIT+parse', 'bearer-guard', 'jose', 'fast-jwt', 'aws-jwt-verify']
/** Algorithms a library cannot verify: its cell stays empty. */
const UNSUPPORTED = { 'aws-jwt-verify': ['PS256'] }

const args = parseArgs(process.argv.slice(2), ['json'])
if (args.help) {
  console.log('usage: node bench/verify.mjs [--quick] [--verbose] [--json FILE] [--tokens=N] [--rounds=N] [--round-ms=N] [--warmup-ms=N] [--algs=RS256,...] [--libs=bearer-guard,...]')
  process.exit(0)
}
const QUICK = args.quick
const VERBOSE = args.verbose !== undefined
const TOKENS = Math.max(2, positiveInt(args.tokens, QUICK ? 300 : 10_000, 'tokens'))
const ROUNDS = positiveInt(args.rounds, QUICK ? 1 : 5, 'rounds')
const ROUND_MS = positiveInt(args['round-ms'], QUICK ? 60 : 500, 'round-ms')
const WARMUP_MS = positiveInt(args['warmup-ms'], QUICK ? 20 : 200, 'warmup-ms')
const ALGS = args.algs === undefined ? ALL_ALGS : args.algs.split(',')
const LIBS = args.libs === undefined ? ALL_LIBS : args.libs.split(',')
for (const alg of ALGS) if (!ALL_ALGS.includes(alg)) throw new Error(`unknown algorithm ${alg}; one of ${ALL_ALGS}`)
for (const lib of LIBS) if (!ALL_LIBS.includes(lib)) throw new Error(`unknown library ${lib}; one of ${ALL_LIBS}`)

// ---------------------------------------------------------------------------------------------
// Machine

const loadAtStart = machine().loadAverage
const startedAtDate = new Date()

console.log('bearer-guard verify benchmark' + (QUICK ? ' (--quick: correctness smoke test, numbers are meaningless)' : ''))
console.log(`node ${process.version} (V8 ${process.versions.v8}, OpenSSL ${process.versions.openssl}), ${os.platform()} ${os.arch()}`)
const { cpu, cores, availableParallelism } = machine()
console.log(`cpu: ${cpu}, ${cores} cores (available parallelism ${availableParallelism}), load average ${loadText()}`)
console.log(
  `libraries: bearer-guard ${ownVersion} (dist), jose ${versionOf('jose')}, fast-jwt ${versionOf('fast-jwt')}, aws-jwt-verify ${versionOf('aws-jwt-verify')}`,
)
console.log(`setup: ${TOKENS} distinct tokens per algorithm, ${ROUNDS} round(s) of ${ROUND_MS} ms per cell after ${WARMUP_MS} ms warm-up, one verification at a time`)
console.log()

// ---------------------------------------------------------------------------------------------
// The verifiers. Each has run(token) returning the result (or a promise of it, when async) and
// ok(result, index) saying whether the result is the expected token's claims.

async function makeVerifiers(suite) {
  const { alg, jwk, pem, publicKey, tokens, jtis } = suite
  const { hash, options } = SCHEMES[alg]
  const keyOptions = { key: publicKey, ...options } // created once: the "cached KeyObject"
  const verifiers = {}

  // 1. LIMIT: one precomputed signature over one precomputed signing input.
  const [h, p, s] = tokens[0].split('.')
  const limitData = Buffer.from(`${h}.${p}`, 'latin1')
  const limitSignature = Buffer.from(s, 'base64url')
  verifiers.LIMIT = {
    async: false,
    run: () => verify(hash, limitData, keyOptions, limitSignature),
    ok: (result) => result === true,
  }

  // 2. LIMIT+parse: the least work any verifier has to do per token.
  verifiers['LIMIT+parse'] = {
    async: false,
    run: (token) => {
      const first = token.indexOf('.')
      const second = token.indexOf('.', first + 1)
      const header = JSON.parse(Buffer.from(token.slice(0, first), 'base64url').toString('utf8'))
      const payload = JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8'))
      const valid = verify(hash, Buffer.from(token.slice(0, second), 'latin1'), keyOptions, Buffer.from(token.slice(second + 1), 'base64url'))
      return valid && header.alg === alg ? payload : undefined
    },
    ok: (payload, i) => payload !== undefined && payload.jti === jtis[i],
  }

  // 3. bearer-guard, static key set: nothing is fetched.
  const bearerGuard = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [jwk] } })
  verifiers['bearer-guard'] = {
    async: true,
    run: (token) => bearerGuard.verify(token),
    ok: (result, i) => result.payload.jti === jtis[i],
    instance: bearerGuard,
  }

  // 4. jose, with a key imported once (a WebCrypto CryptoKey).
  const joseKey = await importJWK(jwk, alg)
  const joseOptions = { issuer: ISSUER, audience: AUDIENCE, algorithms: [alg] }
  verifiers.jose = {
    async: true,
    run: (token) => jwtVerify(token, joseKey, joseOptions),
    ok: (result, i) => result.payload.jti === jtis[i],
  }

  // 5. fast-jwt, with its verified-token cache off (`cache` is off unless a positive size is given).
  const fastJwt = createFastJwtVerifier({ key: pem, algorithms: [alg], allowedIss: ISSUER, allowedAud: AUDIENCE, cache: false })
  if (fastJwt.cache !== null) throw new Error('fast-jwt: the token cache is on; the comparison would not be fair')
  verifiers['fast-jwt'] = {
    async: false,
    run: (token) => fastJwt(token),
    ok: (payload, i) => payload.jti === jtis[i],
  }

  // 6. aws-jwt-verify, with the key set placed in its cache: nothing is fetched. `verify` (async)
  // is what a server calls; its `verifySync` measured the same within noise.
  if (!UNSUPPORTED['aws-jwt-verify'].includes(alg)) {
    const aws = AwsJwtVerifier.create({ issuer: ISSUER, audience: AUDIENCE, jwksUri: `${ISSUER}.well-known/jwks.json` })
    aws.cacheJwks({ keys: [jwk] })
    verifiers['aws-jwt-verify'] = {
      async: true,
      run: (token) => aws.verify(token),
      ok: (payload, i) => payload.jti === jtis[i],
    }
  }

  for (const name of Object.keys(verifiers)) if (!LIBS.includes(name)) delete verifiers[name]
  return verifiers
}

// ---------------------------------------------------------------------------------------------
// Correctness first: a broken setup must not produce fast numbers.

async function outcome(verifier, token, index) {
  try {
    const result = verifier.async ? await verifier.run(token) : verifier.run(token)
    return { accepted: index === undefined ? Boolean(result) : verifier.ok(result, index), result }
  } catch (error) {
    return { accepted: false, error }
  }
}

async function checkCorrectness(suite, verifiers) {
  const samples = [...new Set([0, 1, suite.tokens.length >> 1, suite.tokens.length - 1])]
  for (const [name, verifier] of Object.entries(verifiers)) {
    for (const index of samples) {
      const { accepted, error } = await outcome(verifier, suite.tokens[index], index)
      if (!accepted) fail(`${suite.alg} ${name} rejected valid token #${index}${error ? `: ${error.code ?? ''} ${error.message}` : ''}`)
    }
    if (name === 'LIMIT') continue // verifies a fixed signature; the token it is given does not matter
    for (const bad of suite.bad) {
      if (name === 'LIMIT+parse' && bad.code !== 'signature_invalid') continue // checks no claims, by design
      const { accepted, error } = await outcome(verifier, bad.token)
      if (accepted) {
        fail(`${suite.alg} ${name} ACCEPTED a bad token (${bad.name})`)
      } else if (name === 'bearer-guard' && bad.code !== undefined && error?.code !== bad.code) {
        fail(`${suite.alg} bearer-guard rejected "${bad.name}" with ${error?.code ?? error}, expected ${bad.code}`)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Timing

const CHECK_EVERY = 8 // verifications between clock reads

/** Verifies tokens in turn, from where the previous measurement of this cell stopped, for `ms`. */
async function measure(cell, tokens, ms) {
  const { verifier } = cell
  const { run, ok } = verifier
  const count = tokens.length
  let i = cell.cursor
  let ops = 0
  const cpuStart = process.cpuUsage()
  const start = performance.now()
  const deadline = start + ms
  let now
  if (verifier.async) {
    do {
      for (let k = 0; k < CHECK_EVERY; k++) {
        try {
          if (!ok(await run(tokens[i]), i)) cell.bad++
        } catch (error) {
          cell.bad++
          cell.firstError ??= error
        }
        if (++i === count) i = 0
      }
      ops += CHECK_EVERY
    } while ((now = performance.now()) < deadline)
  } else {
    do {
      for (let k = 0; k < CHECK_EVERY; k++) {
        try {
          if (!ok(run(tokens[i]), i)) cell.bad++
        } catch (error) {
          cell.bad++
          cell.firstError ??= error
        }
        if (++i === count) i = 0
      }
      ops += CHECK_EVERY
    } while ((now = performance.now()) < deadline)
  }
  const cpu = process.cpuUsage(cpuStart)
  const cpuMs = (cpu.user + cpu.system) / 1000
  cell.cursor = i
  cell.ops += ops
  return { rate: (ops * 1000) / (now - start), cpuRate: (ops * 1000) / cpuMs, cpuShare: cpuMs / (now - start) }
}

// ---------------------------------------------------------------------------------------------
// Run

const setupStart = performance.now()
const suites = []
for (const alg of ALGS) suites.push(await makeSuite(alg, TOKENS))
const payloadSizes = suites.flatMap((suite) => suite.tokens.map((token) => Buffer.from(token.split('.')[1], 'base64url').length))
const tokenSizes = suites.flatMap((suite) => suite.tokens.map((token) => token.length))
console.log(
  `tokens: payload ${Math.min(...payloadSizes)}-${Math.max(...payloadSizes)} bytes of JSON, ` +
    `token ${Math.min(...tokenSizes)}-${Math.max(...tokenSizes)} characters; signed in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`,
)

const cells = [] // one per algorithm and library
for (const suite of suites) {
  const verifiers = await makeVerifiers(suite)
  await checkCorrectness(suite, verifiers)
  for (const [lib, verifier] of Object.entries(verifiers)) {
    cells.push({ alg: suite.alg, lib, verifier, tokens: suite.tokens, cursor: 0, ops: 0, bad: 0, firstError: undefined, rates: [], cpuRates: [], cpuShares: [] })
  }
}
if (failures.length > 0) {
  console.error(`\n${failures.length} correctness check(s) failed; not timing a broken setup.`)
  process.exit(1)
}
console.log(`correctness: every verifier accepts the sample tokens and rejects forged, expired and foreign ones`)

const timingStart = performance.now()
for (const cell of cells) await measure(cell, cell.tokens, WARMUP_MS)
for (const cell of cells) {
  cell.ops = 0
  if (cell.bad > 0) fail(`${cell.alg} ${cell.lib} rejected ${cell.bad} valid token(s) during warm-up: ${cell.firstError?.message ?? 'wrong claims'}`)
  cell.bad = 0
}
const libsInRun = LIBS.filter((lib) => cells.some((cell) => cell.lib === lib))
for (let round = 0; round < ROUNDS; round++) {
  for (const alg of ALGS) {
    // Rotate the order of the libraries from one round to the next.
    for (let j = 0; j < libsInRun.length; j++) {
      const lib = libsInRun[(j + round) % libsInRun.length]
      const cell = cells.find((c) => c.alg === alg && c.lib === lib)
      if (cell === undefined) continue
      const { rate, cpuRate, cpuShare } = await measure(cell, cell.tokens, ROUND_MS)
      cell.rates.push(rate)
      cell.cpuRates.push(cpuRate)
      cell.cpuShares.push(cpuShare)
    }
  }
  if (process.stderr.isTTY) process.stderr.write(`round ${round + 1}/${ROUNDS} done\r`)
}
const timingSeconds = (performance.now() - timingStart) / 1000
for (const cell of cells) {
  if (cell.bad > 0) fail(`${cell.alg} ${cell.lib} rejected ${cell.bad} of ${cell.ops} valid tokens while timed: ${cell.firstError?.message ?? 'wrong claims'}`)
  if (cell.ops < TOKENS && !QUICK && cell.lib !== 'LIMIT') {
    console.error(`note: ${cell.alg} ${cell.lib} verified ${cell.ops} tokens, fewer than the ${TOKENS} generated`)
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const fmtRatio = (a, b) => (a === undefined || b === undefined ? '-' : `${(a / b).toFixed(2)}x`)

const PEERS = ['jose', 'fast-jwt', 'aws-jwt-verify']

/** The fastest peer library among `medians` (ops/s by library), or undefined when none ran. */
function bestPeer(medians) {
  return PEERS.filter((lib) => medians[lib] !== undefined).sort((a, b) => medians[b] - medians[a])[0]
}

function printRates(title, ratesOf) {
  const header = ['alg', ...libsInRun, 'bg/LIMIT', 'bg/LIMIT+parse', 'bg/best peer']
  const rows = []
  for (const alg of ALGS) {
    const medians = {}
    const row = [alg]
    for (const lib of libsInRun) {
      const cell = cells.find((c) => c.alg === alg && c.lib === lib)
      if (cell === undefined) {
        row.push('-')
        continue
      }
      const rates = ratesOf(cell)
      medians[lib] = median(rates)
      row.push(`${fmtInt(medians[lib])}${fmtSpread(rates)}`)
    }
    const bg = medians['bearer-guard']
    const best = bestPeer(medians)
    row.push(fmtRatio(bg, medians.LIMIT), fmtRatio(bg, medians['LIMIT+parse']), best === undefined ? '-' : `${fmtRatio(bg, medians[best])} (${best})`)
    rows.push(row)
  }
  console.log()
  console.log(title)
  printTable(header, rows)
}

printRates('ops/s, median of rounds (spread = (max - min) / median); ratios of medians', (cell) => cell.rates)

// A verifier that runs on the main thread keeps one core busy: CPU time / wall time near 100%.
// Less means another process took the CPU from this one, and wall-clock numbers are unreliable.
// (jose is left out: WebCrypto works on the thread pool, so its share means something else.)
const shares = cells.filter((cell) => cell.lib !== 'jose').flatMap((cell) => cell.cpuShares)
const medianShare = median(shares)
const minShare = Math.min(...shares)
const contended = medianShare < 0.9 || minShare < 0.75
console.log()
console.log(
  `CPU share of the timed loops (process CPU time / wall time, jose excluded): median ${(100 * medianShare).toFixed(0)}%, ` +
    `min ${(100 * minShare).toFixed(0)}%; load average now ${loadText()}`,
)
if (contended && !QUICK) {
  console.log('WARNING: other processes competed for the CPU during this run; the wall-clock ops/s above are unreliable.')
  console.log('Run again on a quiet machine. Meanwhile, ops per CPU-second are less affected:')
}
if ((contended && !QUICK) || VERBOSE) {
  printRates('ops per CPU-second (process CPU time, all threads), median of rounds; ratios of medians', (cell) => cell.cpuRates)
}
if (VERBOSE) {
  console.log()
  console.log('each round: ops/s [CPU share]')
  for (const cell of cells) {
    const rounds = cell.rates.map((rate, round) => `${fmtInt(rate)} [${(100 * cell.cpuShares[round]).toFixed(0)}%]`)
    console.log(`${cell.alg.padEnd(6)} ${cell.lib.padEnd(14)} ${rounds.join('  ')}`)
  }
}
console.log()
console.log(`timed for ${timingSeconds.toFixed(1)} s; whole run ${((performance.now() - startedAt) / 1000).toFixed(1)} s`)

// ---------------------------------------------------------------------------------------------
// JSON: every measured number, for bench/chart.mjs and BENCHMARKS.md. Not written for a run that
// failed a check.

if (args.json !== undefined && failures.length === 0) {
  const results = {}
  for (const alg of ALGS) {
    results[alg] = {}
    for (const lib of libsInRun) {
      const cell = cells.find((c) => c.alg === alg && c.lib === lib)
      if (cell === undefined) {
        results[alg][lib] = null // not supported by the library
        continue
      }
      results[alg][lib] = {
        opsPerSecond: summary(cell.rates),
        opsPerCpuSecond: summary(cell.cpuRates),
        cpuShare: summary(cell.cpuShares),
        operations: cell.ops,
      }
    }
  }
  const ratio = (alg, a, b, metric) => {
    const x = results[alg][a]?.[metric].median
    const y = results[alg][b]?.[metric].median
    return x === undefined || y === undefined ? null : x / y
  }
  const ratios = {}
  for (const alg of ALGS) {
    ratios[alg] = {}
    for (const metric of ['opsPerSecond', 'opsPerCpuSecond']) {
      ratios[alg][metric] = {
        'bearer-guard/LIMIT': ratio(alg, 'bearer-guard', 'LIMIT', metric),
        'bearer-guard/LIMIT+parse': ratio(alg, 'bearer-guard', 'LIMIT+parse', metric),
        'bearer-guard/fast-jwt': ratio(alg, 'bearer-guard', 'fast-jwt', metric),
        'bearer-guard/jose': ratio(alg, 'bearer-guard', 'jose', metric),
        'bearer-guard/aws-jwt-verify': ratio(alg, 'bearer-guard', 'aws-jwt-verify', metric),
      }
      const best = bestPeer(Object.fromEntries(PEERS.map((lib) => [lib, results[alg][lib]?.[metric].median])))
      ratios[alg][metric].bestPeer = best ?? null
      ratios[alg][metric]['bearer-guard/best peer'] = best === undefined ? null : ratio(alg, 'bearer-guard', best, metric)
    }
  }
  const { loadAverage, ...machineAtEnd } = machine()
  const report = {
    benchmark: 'bench/verify.mjs',
    command: commandLine(),
    quick: QUICK,
    startedAt: startedAtDate.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { ...machineAtEnd, totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAverage },
    libraries: {
      'bearer-guard': `${ownVersion} (dist)`,
      jose: versionOf('jose'),
      'fast-jwt': versionOf('fast-jwt'),
      'aws-jwt-verify': versionOf('aws-jwt-verify'),
    },
    setup: { tokensPerAlgorithm: TOKENS, rounds: ROUNDS, roundMs: ROUND_MS, warmupMs: WARMUP_MS, algorithms: ALGS, libraries: libsInRun },
    cpuShare: { median: medianShare, min: minShare, contended, note: 'process CPU time / wall time of the timed loops, jose excluded' },
    timedSeconds: timingSeconds,
    results,
    ratios,
  }
  writeReport(args.json, report)
}

if (failures.length > 0) {
  console.error(`\n${failures.length} check(s) failed`)
  process.exit(1)
}
