// Cold start: what the first token costs a fresh verifier whose issuer runs on 127.0.0.1, next to
// a warm verification, in round trips (HTTP requests and TCP connections counted by the issuer's
// server) and in milliseconds.
//
//   node bench/cold-start.mjs [--quick] [--runs=N] [--json FILE]
//
// Cases, each on a fresh verifier (and a fresh issuer port, so no pooled connection is left over):
//   discovery        createVerifier({ issuer, audience }): metadata, then the JWK Set
//   jwksUri          createVerifier({ issuer, audience, jwksUri }): the JWK Set only
//   100 concurrent   100 first tokens at once on a discovery verifier: still one fetch of each
// Fails (exit 1) when a case needs more requests than that, or a token is refused.
import { performance } from 'node:perf_hooks'
import { createServer } from 'node:http'
import { createVerifier } from '../dist/index.js'
import { AUDIENCE, claimsFor, commandLine, fail, failures, keyPairFor, machine, median, parseArgs, positiveInt, printMachine, printTable, signJws, writeReport } from './support.mjs'

const args = parseArgs(process.argv.slice(2), ['json'])
const QUICK = args.quick
const RUNS = positiveInt(args.runs, QUICK ? 3 : 40, 'runs')
const ALG = 'ES256'

const { privateKey, publicKey } = await keyPairFor(ALG)
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'cold', alg: ALG, use: 'sig' }

/** An issuer on 127.0.0.1 serving its metadata and JWK Set, counting requests and connections. */
async function startIssuer() {
  const seen = { requests: [], connections: 0 }
  let origin
  const server = createServer((request, response) => {
    seen.requests.push(request.url)
    const body = request.url === '/.well-known/openid-configuration' ? { issuer: origin, jwks_uri: `${origin}/jwks` } : request.url === '/jwks' ? { keys: [jwk] } : undefined
    response.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}))
  })
  server.on('connection', () => seen.connections++)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${server.address().port}`
  const close = () => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(resolve))
  }
  return { origin, seen, close }
}

const tokensFor = (issuer, count) => {
  const now = Math.floor(Date.now() / 1000)
  return Promise.all(Array.from({ length: count }, (_, i) => signJws(ALG, privateKey, { alg: ALG, typ: 'at+jwt', kid: 'cold' }, claimsFor(i, now, { iss: issuer }))))
}

/** One run of a case: ms of the first verification(s) and of a warm one, and what the issuer saw. */
async function run(name, concurrent, optionsFor) {
  const issuer = await startIssuer()
  const tokens = await tokensFor(issuer.origin, concurrent + 1)
  const verifier = createVerifier(optionsFor(issuer.origin))
  const started = performance.now()
  const results = await Promise.allSettled(tokens.slice(0, concurrent).map((token) => verifier.verify(token)))
  const coldMs = performance.now() - started
  const refused = results.filter((result) => result.status === 'rejected')
  if (refused.length > 0) fail(`${name}: ${refused.length} first token(s) refused: ${refused[0].reason?.code ?? refused[0].reason}`)
  const warmStarted = performance.now()
  await verifier.verify(tokens[concurrent]).catch((error) => fail(`${name}: warm token refused: ${error.code ?? error}`))
  const warmMs = performance.now() - warmStarted
  const seen = { requests: [...issuer.seen.requests], connections: issuer.seen.connections }
  await issuer.close()
  return { coldMs, warmMs, ...seen }
}

const CASES = [
  { name: 'discovery, first token', concurrent: 1, expected: ['/.well-known/openid-configuration', '/jwks'], options: (issuer) => ({ issuer, audience: AUDIENCE }) },
  { name: 'jwksUri, first token', concurrent: 1, expected: ['/jwks'], options: (issuer) => ({ issuer, audience: AUDIENCE, jwksUri: `${issuer}/jwks` }) },
  { name: 'discovery, 100 concurrent first tokens', concurrent: 100, expected: ['/.well-known/openid-configuration', '/jwks'], options: (issuer) => ({ issuer, audience: AUDIENCE }) },
]

printMachine('bearer-guard cold-start benchmark (issuer on 127.0.0.1)')
console.log(`setup: ${ALG}, ${RUNS} runs per case, each on a fresh verifier and a fresh issuer port\n`)
const report = {}
const rows = []
for (const testCase of CASES) {
  const runs = []
  for (let i = 0; i < RUNS; i++) runs.push(await run(testCase.name, testCase.concurrent, testCase.options))
  for (const { requests } of runs) {
    if (JSON.stringify(requests) !== JSON.stringify(testCase.expected)) fail(`${testCase.name}: requests ${JSON.stringify(requests)}, expected ${JSON.stringify(testCase.expected)}`)
  }
  const maxConnections = Math.max(...runs.map((r) => r.connections))
  const coldMs = median(runs.map((r) => r.coldMs))
  const warmMs = median(runs.map((r) => r.warmMs))
  report[testCase.name] = { requests: testCase.expected.length, maxConnections, coldMsMedian: coldMs, warmMsMedian: warmMs, runs }
  rows.push([testCase.name, String(testCase.expected.length), String(maxConnections), coldMs.toFixed(2), warmMs.toFixed(3)])
}
printTable(['case', 'HTTP round trips', 'TCP connections (max)', 'first token(s) ms (median)', 'warm token ms'], rows)
if (QUICK) console.log('\n--quick: correctness only; the numbers mean nothing')
if (args.json !== undefined && failures.length === 0) {
  writeReport(args.json, { benchmark: 'bench/cold-start.mjs', command: commandLine(), quick: QUICK, finishedAt: new Date().toISOString(), machine: machine(), setup: { alg: ALG, runs: RUNS }, cases: report })
}
if (failures.length > 0) {
  console.error(`\n${failures.length} failure(s)`)
  process.exit(1)
}
