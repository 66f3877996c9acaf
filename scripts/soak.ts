/**
 * Soak test of bearer-guard against a misbehaving identity provider.
 *
 *   npx tsx scripts/soak.ts [--duration <seconds>] [--framework express|koa|fastify] [--concurrency N]
 *                           [--token-cache N] [--seed N]
 *
 * Defaults: 600 s, express, 16 concurrent connections, the verified-token cache off (the library's
 * default; `--token-cache 1000` soaks it too: its tokens are the same few strings again and again,
 * withdrawn-key ones included), a random seed (printed; it replays the traffic mix, not the timing).
 *
 * What runs, all on 127.0.0.1:
 * - a fault-injecting JWKS server (scripts/support/jwks-server.ts, in a worker thread so that the
 *   load generator cannot delay its answers) that flaps between healthy and failing (500, 404, HTML,
 *   invalid JSON, empty set, `use: enc` only, redirect, reset, hang, huge body, endless trickle) and
 *   rotates keys (publish a new one and sign with it, withdraw the old one later);
 * - the chosen adapter's app (scripts/support/app.ts) in a child process, so that its memory and
 *   event loop are measured apart from the load generator: GET /public (unguarded) and GET /users
 *   (requireAuth + requireScopes('read:users')), verifier with `jwksUri` and short timings;
 * - `--concurrency` keep-alive connections of mixed traffic, each request classified on its reply.
 *
 * How a reply is judged: every class but two has a fixed answer (200 for /public; 400/401/403 for
 * forged, expired, misdirected or malformed credentials). For valid tokens and tokens of withdrawn
 * keys the answer depends on the key set the verifier holds, and that is known exactly: the verifier
 * fetches one request at a time and its set is that of the latest key set it took in. A key set
 * counts as taken in when the JWKS server sent it whole and the app confirms the verifier read it
 * before its deadline (a pass-through `fetch` observes that; a starved app can miss it). Then:
 * - a valid token MUST be accepted when the verifier holds its key, or when the key was published
 *   2 × cooldown ago with the provider healthy all along (an unknown kid must be fetched at once);
 *   otherwise a 401 is "valid refused: key not fetchable yet" (allowed, e.g. rotation during outage);
 * - a withdrawn key's token MUST be refused once max age has passed since the withdrawal and the
 *   verifier's latest key set lacks it; before that an acceptance is allowed (the set may still be
 *   fresh, or stale keys serve during an outage) and counted apart.
 *
 * Exit 0 only with no wrong accept, no 5xx, no connection error, no wrong refusal, no unexpected
 * status or missing challenge, flat memory, JWKS fetches within the rate limit's bound, and no
 * redirect followed.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { Agent, request, type OutgoingHttpHeaders } from 'node:http'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import type { VerifierOptions } from 'bearer-guard'
import type { ChildMessage, Framework, MemorySample, ParentMessage } from './support/app.js'
import { FAULT_MODES, JwksProvider, type Mode } from './support/jwks-server.js'
import { formatBytes, formatCount, LatencyHistogram, seededRandom, Tally } from './support/stats.js'
import {
  AUDIENCE,
  b64url,
  createKey,
  ISSUER,
  mint,
  mintTokens,
  validClaims,
  type KeyTokens,
  type SigningAlgorithm,
  type SoakKey,
} from './support/tokens.js'

// ---------------------------------------------------------------------------------------------
// Command line

const USAGE =
  'usage: tsx scripts/soak.ts [--duration <seconds>] [--framework express|koa|fastify] [--concurrency N] [--token-cache N] [--seed N]'

function parseCommandLine(): { durationS: number; framework: Framework; concurrency: number; tokenCacheSize: number; seed: number } {
  let values
  try {
    values = parseArgs({
      options: {
        duration: { type: 'string', default: '600' },
        framework: { type: 'string', default: 'express' },
        concurrency: { type: 'string', default: '16' },
        'token-cache': { type: 'string', default: '0' },
        seed: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`)
    process.exit(2)
  }
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const durationS = Number(values.duration)
  const concurrency = Number(values.concurrency)
  const tokenCacheSize = Number(values['token-cache'])
  const seed = values.seed === undefined ? randomInt(2 ** 31) : Number(values.seed)
  const framework = values.framework
  const problems: string[] = []
  if (!Number.isFinite(durationS) || durationS < 10 || durationS > 86_400) problems.push('--duration must be 10 to 86400 seconds')
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) problems.push('--concurrency must be a whole number from 1 to 1024')
  if (!Number.isInteger(tokenCacheSize) || tokenCacheSize < 0) problems.push('--token-cache must be a whole number, 0 for off')
  if (!Number.isInteger(seed)) problems.push('--seed must be a whole number')
  if (framework !== 'express' && framework !== 'koa' && framework !== 'fastify') problems.push('--framework must be express, koa or fastify')
  if (problems.length > 0) {
    console.error(`${problems.join('\n')}\n${USAGE}`)
    process.exit(2)
  }
  return { durationS, framework: framework as Framework, concurrency, tokenCacheSize, seed }
}

const { durationS, framework, concurrency, tokenCacheSize, seed } = parseCommandLine()
const random = seededRandom(seed)

// ---------------------------------------------------------------------------------------------
// Timings

/**
 * Verifier timings, short so that every behaviour happens many times within a 30 s run:
 * - max age 5 s, min age 2 s: sets expire (and refresh in the background at 80 %) every few
 *   seconds; the JWKS server varies `Cache-Control` (none, max-age=3, max-age=600, no-cache) so the
 *   clamping to [2 s, 5 s] is exercised.
 * - cooldown 1 s: unknown-kid refetches at most once a second, and the failure back-off caps at 1 s.
 * - fetch timeout 300 ms: the hang and trickle modes end quickly; a healthy loopback answer takes
 *   about a millisecond. A loaded host can still starve the app past 300 ms: the verifier then
 *   keeps its old keys, which is why deliveries are confirmed by the app (see INTAKE_MARGIN_MS).
 * - 64 KiB cap: the huge mode sends 80 KiB, a real key set here is under 2 KiB.
 * - stale max age 60 s: stale keys must outlive every outage, or valid tokens would (legitimately)
 *   fail once the last good set expires and a bug could not be told from the design. The longest
 *   outage in the schedule is 3 units of at most 4 s (12 s: reset then hang) plus a 1 s back-off;
 *   60 s is four times that, yet far below the 1 h default. The report prints the longest time
 *   without a delivered key set, to confirm the assumption held.
 */
const TIMING = {
  jwksMaxAgeMs: 5_000,
  jwksMinAgeMs: 2_000,
  jwksCooldownMs: 1_000,
  fetchTimeoutMs: 300,
  maxResponseBytes: 64 * 1024,
  jwksStaleMaxAgeMs: 60_000,
} as const

/**
 * Deliveries are timed by the app when the verifier finished reading the key set; what follows
 * (parse, import, swap) is synchronous or microtasks. This margin covers that and the clocks of the
 * two processes (both `performance.timeOrigin`-based, within a millisecond of each other).
 */
const INTAKE_MARGIN_MS = 100
/**
 * A key published this long ago, with the provider healthy all that while, must verify. Worst case:
 * the last failure set a back-off of up to one cooldown; the next unknown kid after it refetches,
 * unless the unknown-kid rate limit was spent within the cooldown before; so the key arrives within
 * two cooldowns (plus intake).
 */
const VALID_GRACE_MS = 2 * TIMING.jwksCooldownMs + INTAKE_MARGIN_MS
/** A request slower than this never ends by itself: counted as a connection error. */
const REQUEST_TIMEOUT_MS = 5_000
/**
 * At most one fetch deadline should ever be waited out (README: the first request after a failed
 * refresh waits at most one bounded attempt, later ones not at all). Slower requests are reported,
 * not failed: a starved host can delay any request.
 */
const SLOW_MS = TIMING.fetchTimeoutMs + 500

const durationMs = durationS * 1000
const clamp = (value: number, low: number, high: number) => Math.min(Math.max(value, low), high)
/** Healthy start: the first key set is fetched and the memory baseline is taken after it. */
const warmupMs = clamp(durationMs * 0.1, 2_000, 10_000)

interface Phase {
  mode: Mode
  units: number
  label: string
  /** A key rotation opens the phase: a new key is published and signs from then on. */
  rotate: boolean
}

/**
 * The flapping schedule after warm-up, one cycle (→ = back to back):
 *
 *   ↻500×2, healthy, 404 → html, healthy, invalid-json → empty-set, ↻calm×4,
 *   enc-only → redirect, healthy, reset → ↻hang×2, healthy, huge → trickle, ↻calm×4
 *
 * Every failure mode gets at least one fetch: the verifier tries about once a second while the
 * provider fails (1 s back-off, 1 s unknown-kid cooldown, traffic never stops), so a unit is at
 * least 1.1 s, and faults that fail slowly (hang, trickle: 300 ms deadline, then 1 s back-off) are
 * followed by a healthy phase rather than another fault. Four key rotations (↻) per cycle:
 * - into the long outages (500, hang): the new key cannot be fetched until the outage ends (valid
 *   tokens may be refused meanwhile), and stale keys serve past their freshness;
 * - into the 4-unit calm phases: long enough past the 2 × cooldown grace that the new key must
 *   verify at once, by an unknown-kid refetch (the README's "Rotation" promise). To make sure it is
 *   that and not an expiry refresh, a calm phase serves `max-age=600` (5 s once clamped) and its
 *   rotation waits for the phase's first delivered key set (at most one unit): the next expiry
 *   refresh is then 4 s away, well past the grace.
 * One unit is the run scaled to one cycle, 1.1–4 s.
 */
const CYCLE: readonly Phase[] = (
  [
    ['status-500', 2, true],
    ['healthy', 1, false],
    ['status-404', 1, false],
    ['html', 1, false],
    ['healthy', 1, false],
    ['invalid-json', 1, false],
    ['empty-set', 1, false],
    ['calm', 4, true],
    ['enc-only', 1, false],
    ['redirect', 1, false],
    ['healthy', 1, false],
    ['reset', 1, false],
    ['hang', 2, true],
    ['healthy', 1, false],
    ['huge', 1, false],
    ['trickle', 1, false],
    ['calm', 4, true],
  ] as const
).map(([label, units, rotate]) => ({ mode: label, units, label, rotate }))
for (const mode of FAULT_MODES) {
  if (!CYCLE.some((phase) => phase.mode === mode)) throw new Error(`the cycle misses ${mode}`)
}
const cycleUnits = CYCLE.reduce((sum, phase) => sum + phase.units, 0)
const unitMs = clamp((durationMs - warmupMs) / cycleUnits, 1_100, 4_000)

const timeline: { at: number; phase: Phase }[] = []
for (let at = warmupMs, index = 0; at < durationMs; index++) {
  const phase = CYCLE[index % CYCLE.length]
  if (phase === undefined) break
  timeline.push({ at, phase })
  at += phase.units * unitMs
}
/** Rotations (leaving a second for the last one to matter); each withdraws the previous key halfway to the next. */
const rotationTimes = timeline.filter(({ at, phase }) => phase.rotate && at < durationMs - 1_000).map(({ at }) => at)

// ---------------------------------------------------------------------------------------------
// Keys

interface RingKey {
  key: SoakKey
  tokens: KeyTokens
  /** `performance.now()` ms; Infinity until published / withdrawn. */
  publishedAt: number
  withdrawnAt: number
  /** The JWKS server's mode when the key was published. */
  publishedInMode: Mode
}

const ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'RS256', 'EdDSA', 'PS256', 'ES384']

const nowSeconds = Math.floor(Date.now() / 1000)
const validUntil = nowSeconds + durationS + 3600
const ring: RingKey[] = await Promise.all(
  Array.from({ length: rotationTimes.length + 1 }, async (_, index) => {
    const alg = ALGORITHMS[index % ALGORITHMS.length] ?? 'ES256'
    const key = await createKey(alg, `soak-${index}-${alg.toLowerCase()}`)
    return { key, tokens: mintTokens(key, nowSeconds, validUntil), publishedAt: Infinity, withdrawnAt: Infinity, publishedInMode: 'healthy' as Mode }
  }),
)
/** Never published: signs the made-up-kid tokens. */
const attacker = await createKey('ES256', 'attacker')
const attackerClaims = validClaims(nowSeconds, validUntil)

let published: RingKey[] = []
const withdrawn: RingKey[] = []
let signer: RingKey

// The JWKS server gets each change before its time is recorded here, so it never serves a key
// before its recorded publication (it may serve a withdrawn one a moment longer: lastServedAt says).
function publish(entry: RingKey): void {
  if (published.includes(entry) || withdrawn.includes(entry)) return
  published = [...published, entry]
  jwks.setKeys(published.map((item) => item.key))
  entry.publishedAt = performance.now()
  entry.publishedInMode = jwks.currentMode
  signer = entry
}

function withdraw(entry: RingKey, successor: RingKey): void {
  publish(successor) // in case its (deferred) rotation has not happened yet: never leave no key
  published = published.filter((item) => item !== entry)
  jwks.setKeys(published.map((item) => item.key))
  entry.withdrawnAt = performance.now()
  withdrawn.push(entry)
}

// ---------------------------------------------------------------------------------------------
// Servers

const jwks = new JwksProvider({ maxResponseBytes: TIMING.maxResponseBytes, fetchTimeoutMs: TIMING.fetchTimeoutMs })
const jwksUri = await jwks.listen()
const firstKey = ring[0]
if (firstKey === undefined) throw new Error('no key')
publish(firstKey)
signer = firstKey

const verifierOptions: VerifierOptions = {
  issuer: ISSUER,
  audience: AUDIENCE,
  jwksUri,
  ...TIMING,
  ...(tokenCacheSize > 0 ? { tokenCacheSize } : {}),
}

const appErrors: string[] = []
let fatal: string | undefined
let stopping = false
const child: ChildProcess = fork(new URL('./support/app.ts', import.meta.url), [], {
  execArgv: [...process.execArgv, '--expose-gc'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
let childExited = false
const childExit = new Promise<void>((resolve) =>
  child.once('exit', (code, signal) => {
    childExited = true
    if (!stopping) fatal ??= `the app process exited unexpectedly (code ${code}, signal ${signal})`
    resolve()
  }),
)
const memoryWaiters = new Map<number, (sample: MemorySample) => void>()
let readyResolve: (port: number) => void = () => undefined
const ready = new Promise<number>((resolve) => (readyResolve = resolve))
child.on('message', (message: ChildMessage) => {
  switch (message.type) {
    case 'ready':
      readyResolve(message.port)
      break
    case 'memory':
      memoryWaiters.get(message.id)?.(message)
      memoryWaiters.delete(message.id)
      break
    case 'fetch':
      jwks.verifierReport(message.id, message.startedAt, message.at, message.delivered)
      break
    case 'app-error':
      appErrors.push(message.message)
      break
    case 'fatal':
      fatal ??= message.message
      break
    case 'stopped':
      break
  }
})
child.on('error', (error) => {
  if (!stopping) fatal ??= `IPC with the app process failed: ${error.message}`
})
function toChild(message: ParentMessage): void {
  if (!childExited && child.connected) child.send(message)
}
let memoryId = 0
/** Memory of the app after full GCs; `restartLoopDelay` starts its event-loop delay window anew. */
function sampleMemory(restartLoopDelay = false): Promise<MemorySample | undefined> {
  if (childExited) return Promise.resolve(undefined)
  const id = ++memoryId
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      memoryWaiters.delete(id)
      resolve(undefined)
    }, 10_000)
    memoryWaiters.set(id, (sample) => {
      clearTimeout(timer)
      resolve(sample)
    })
    toChild({ type: 'memory', id, restartLoopDelay })
  })
}

toChild({ type: 'start', framework, options: verifierOptions, parentTimeOrigin: performance.timeOrigin })
const appPort = await Promise.race([ready, childExit.then(() => undefined)])
if (appPort === undefined) {
  console.error(`the app did not start: ${fatal ?? 'unknown reason'}`)
  await jwks.close()
  process.exit(1)
}

// ---------------------------------------------------------------------------------------------
// Traffic

type Kind =
  | 'valid'
  | 'public'
  | 'expired'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'wrong-scope'
  | 'tampered'
  | 'bad-signature'
  | 'alg-none'
  | 'crafted'
  | 'garbage'
  | 'malformed-header'
  | 'no-token'
  | 'unknown-kid'
  | 'withdrawn-key'

/** Share of the traffic per class, out of 100. */
const MIX: readonly (readonly [Kind, number])[] = [
  ['valid', 30],
  ['public', 5],
  ['expired', 5],
  ['wrong-audience', 4],
  ['wrong-issuer', 4],
  ['wrong-scope', 5],
  ['tampered', 5],
  ['bad-signature', 5],
  ['alg-none', 4],
  ['crafted', 5],
  ['garbage', 5],
  ['malformed-header', 6],
  ['no-token', 2],
  ['unknown-kid', 8],
  ['withdrawn-key', 7],
]
const MIX_TOTAL = MIX.reduce((sum, [, weight]) => sum + weight, 0)

/** Statuses a refused request of each class may get (a valid token's refusal is judged apart). */
const REFUSAL_STATUSES: Readonly<Record<Kind, readonly number[]>> = {
  valid: [401],
  public: [],
  expired: [401],
  'wrong-audience': [401],
  'wrong-issuer': [401],
  'wrong-scope': [403, 401], // 401 only while the verifier cannot have the key (judged apart)
  tampered: [401],
  'bad-signature': [401],
  'alg-none': [401],
  crafted: [401],
  garbage: [400, 401],
  'malformed-header': [400, 401],
  'no-token': [401],
  'unknown-kid': [401],
  'withdrawn-key': [401],
}

interface Planned {
  kind: Kind
  path: string
  authorization: string | string[] | undefined
  /** The key that signed the token, for valid and withdrawn-key tokens. */
  key: RingKey | undefined
}

const pick = <T>(items: readonly T[]): T => {
  const item = items[Math.floor(random() * items.length)]
  if (item === undefined) throw new Error('pick from an empty list')
  return item
}
const randomB64 = (length: number) => {
  let text = ''
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)]
  return text
}

function signerToken(pool: keyof KeyTokens): string {
  return pick(signer.tokens[pool])
}

function garbageToken(): string {
  const valid = signerToken('valid')
  switch (Math.floor(random() * 9)) {
    case 0:
      return randomB64(1 + Math.floor(random() * 300))
    case 1:
      return `${randomB64(10)}.${randomB64(30)}.${randomB64(40)}`
    case 2:
      return 'a.b.c'
    case 3:
      return `${valid}.${randomB64(8)}`
    case 4:
      return [b64url('{"alg":"RSA-OAEP","enc":"A256GCM"}'), randomB64(40), randomB64(16), randomB64(60), randomB64(22)].join('.')
    case 5:
      return 'A'.repeat(9000)
    case 6:
      return valid.slice(0, 1 + Math.floor(random() * (valid.length - 1)))
    case 7:
      return `${b64url('{"alg":"ES256"')}.${valid.split('.')[1] ?? ''}.${randomB64(86)}`
    default:
      return '..'
  }
}

function malformedAuthorization(): string | string[] {
  const token = signerToken('valid')
  const options: (string | string[])[] = [
    'Bearer',
    'Bearer    ',
    `Bearer ${token} ${token}`,
    `Bearer ${token},`,
    `Bearer\t${token}`,
    'Basic dXNlcjpwYXNzd29yZA==',
    `Token ${token}`,
    token,
    `Bearer "${token}"`,
    [`Bearer ${token}`, `Bearer ${token}`], // two Authorization headers
    `Bearer ${token}, Bearer ${token}`,
    `Bearer=${token}`,
    `Bearer${token}`,
    `Bearer ${token}=`,
  ]
  return pick(options)
}

const SCHEMES = ['Bearer ', 'Bearer ', 'Bearer ', 'Bearer ', 'bearer ', 'BEARER ', 'Bearer   '] as const

function plan(): Planned {
  let roll = random() * MIX_TOTAL
  let kind: Kind = 'valid'
  for (const [candidate, weight] of MIX) {
    roll -= weight
    if (roll < 0) {
      kind = candidate
      break
    }
  }
  if (kind === 'withdrawn-key' && withdrawn.length === 0) kind = 'valid'
  const bearer = (token: string) => `Bearer ${token}`
  switch (kind) {
    case 'valid': {
      // Mostly the current signing key; also tokens of other published keys still in circulation.
      const key = random() < 0.75 ? signer : pick(published)
      return { kind, path: '/users', authorization: `${pick(SCHEMES)}${pick(key.tokens.valid)}`, key }
    }
    case 'public': {
      const choice = Math.floor(random() * 3)
      const authorization = choice === 0 ? undefined : choice === 1 ? bearer(signerToken('valid')) : bearer(garbageToken())
      return { kind, path: '/public', authorization, key: undefined }
    }
    case 'expired':
      return { kind, path: '/users', authorization: bearer(signerToken('expired')), key: undefined }
    case 'wrong-audience':
      return { kind, path: '/users', authorization: bearer(signerToken('wrongAudience')), key: undefined }
    case 'wrong-issuer':
      return { kind, path: '/users', authorization: bearer(signerToken('wrongIssuer')), key: undefined }
    case 'wrong-scope':
      return { kind, path: '/users', authorization: bearer(signerToken('wrongScope')), key: signer }
    case 'tampered':
      return { kind, path: '/users', authorization: bearer(signerToken('tampered')), key: undefined }
    case 'bad-signature':
      return { kind, path: '/users', authorization: bearer(signerToken('badSignature')), key: undefined }
    case 'alg-none':
      return { kind, path: '/users', authorization: bearer(signerToken('algNone')), key: undefined }
    case 'crafted':
      return { kind, path: '/users', authorization: bearer(signerToken('crafted')), key: undefined }
    case 'garbage':
      return { kind, path: '/users', authorization: bearer(garbageToken()), key: undefined }
    case 'malformed-header':
      return { kind, path: '/users', authorization: malformedAuthorization(), key: undefined }
    case 'no-token':
      return { kind, path: '/users', authorization: random() < 0.8 ? undefined : '', key: undefined }
    case 'unknown-kid': {
      const kid = random() < 0.5 ? `forged-${randomB64(12)}` : `soak-${Math.floor(random() * 1000) + 100}-es256`
      return { kind, path: '/users', authorization: bearer(mint(attacker, attackerClaims, { kid })), key: undefined }
    }
    case 'withdrawn-key': {
      const key = pick(withdrawn)
      return { kind, path: '/users', authorization: bearer(pick(key.tokens.valid)), key }
    }
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency })

type Reply = { status: number; challenge: string | undefined } | { error: string }

function send(planned: Planned): Promise<Reply> {
  return new Promise((resolve) => {
    // Node types `authorization` as one string, but sends an array as repeated headers.
    const headers: Record<string, string | string[]> = {}
    if (planned.authorization !== undefined) headers.authorization = planned.authorization
    const req = request({ host: '127.0.0.1', port: appPort, path: planned.path, method: 'GET', headers: headers as OutgoingHttpHeaders, agent }, (res) => {
      res.resume()
      res.once('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] }))
      res.once('error', (error) => resolve({ error: error.message }))
    })
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)))
    req.once('error', (error) => resolve({ error: `${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}`.trim() }))
    req.end()
  })
}

// ---------------------------------------------------------------------------------------------
// Classification

type Verdict =
  | 'accepted'
  | 'refused'
  | 'valid refused: key not fetchable yet (allowed)'
  | 'valid refused: key withdrawn in flight (allowed)'
  | 'withdrawn accepted: within max age (allowed)'
  | 'withdrawn accepted: no refresh since, outage (allowed)'
  | 'WRONG ACCEPT'
  | 'WRONG REFUSAL'
  | 'UNEXPECTED STATUS'
  | 'SERVER ERROR'
  | 'CONNECTION ERROR'

const latency = new LatencyHistogram()
const verdicts = new Tally<Verdict>()
const perKind = new Map<Kind, { sent: number; statuses: Tally; verdicts: Tally<Verdict> }>()
for (const [kind] of MIX) perKind.set(kind, { sent: 0, statuses: new Tally(), verdicts: new Tally() })
const refusalReasons = new Tally()
let missingChallenges = 0
const incidents: string[] = []
const MAX_INCIDENTS = 12
let unknownKidRequests = 0
let slowRequests = 0
/** How many valid / withdrawn-key requests the strict rules applied to (so the rules are seen to bite). */
const strict = { validRequired: 0, validRequiredAccepted: 0, withdrawnRequired: 0, withdrawnRequiredRefused: 0 }

const rel = (time: number) => (Number.isFinite(time) ? `${((time - startedAt) / 1000).toFixed(2)}s` : String(time))

function description(challenge: string | undefined): string {
  return /error_description="([^"]*)"/.exec(challenge ?? '')?.[1] ?? (challenge === undefined ? 'no challenge' : challenge)
}

/**
 * Must a valid token signed by `key` (still published), sent at `sentAt` and answered at `doneAt`,
 * be accepted?
 */
function validMustBeAccepted(key: RingKey, sentAt: number, doneAt: number): boolean {
  // The verifier holds the key: the latest key set it took in has it (later ones will too while it
  // is published; failures keep the set, and stale keys outlive every outage in the schedule).
  if (jwks.kidsAt(sentAt - INTAKE_MARGIN_MS)?.includes(key.key.kid) === true) return true
  // Published long enough ago, with the provider healthy (and the verifier taking its answers in)
  // all along: an unknown-kid refetch must have brought the key within the grace.
  return key.publishedAt <= sentAt - VALID_GRACE_MS && jwks.healthyThroughout(sentAt - VALID_GRACE_MS, doneAt, 100)
}

/**
 * Must a token of the withdrawn `key`, sent at `sentAt`, be refused? Once the set holding it can no
 * longer be fresh (max age past the withdrawal) and a refresh without it has replaced that set: the
 * latest key set the verifier took in lacks the key (after the withdrawal, none can bring it back).
 * Before that, a set still fresh may hold it, and during an outage stale keys legitimately serve.
 */
function withdrawnMustBeRefused(key: RingKey, sentAt: number): boolean {
  if (sentAt < key.withdrawnAt + TIMING.jwksMaxAgeMs + INTAKE_MARGIN_MS) return false
  const kids = jwks.kidsAt(sentAt - INTAKE_MARGIN_MS)
  return kids !== undefined && !kids.includes(key.key.kid) && jwks.lastServedAt(key.key.kid) < sentAt - INTAKE_MARGIN_MS
}

function classify(planned: Planned, reply: Reply, sentAt: number, doneAt: number): Verdict {
  if ('error' in reply) return 'CONNECTION ERROR'
  const { status } = reply
  if (status >= 500) return 'SERVER ERROR'
  if ((status === 401 || status === 403) && !/^Bearer\b/i.test(reply.challenge ?? '')) missingChallenges++
  const key = planned.key
  switch (planned.kind) {
    case 'public':
      return status === 200 ? 'accepted' : 'WRONG REFUSAL'
    case 'valid': {
      if (key === undefined) throw new Error('valid without key')
      const required = key.withdrawnAt > doneAt && validMustBeAccepted(key, sentAt, doneAt)
      if (required) strict.validRequired++
      if (status === 200) {
        if (required) strict.validRequiredAccepted++
        return 'accepted'
      }
      refusalReasons.add(`${status} ${description(reply.challenge)}`)
      if (key.withdrawnAt <= doneAt) return 'valid refused: key withdrawn in flight (allowed)'
      if (status === 401 && !required) return 'valid refused: key not fetchable yet (allowed)'
      return 'WRONG REFUSAL'
    }
    case 'withdrawn-key': {
      if (key === undefined) throw new Error('withdrawn without key')
      const required = withdrawnMustBeRefused(key, sentAt)
      if (required) strict.withdrawnRequired++
      if (status === 200) {
        if (required) return 'WRONG ACCEPT'
        return sentAt < key.withdrawnAt + TIMING.jwksMaxAgeMs + INTAKE_MARGIN_MS
          ? 'withdrawn accepted: within max age (allowed)'
          : 'withdrawn accepted: no refresh since, outage (allowed)'
      }
      if (required) strict.withdrawnRequiredRefused++
      return REFUSAL_STATUSES[planned.kind].includes(status) ? 'refused' : 'UNEXPECTED STATUS'
    }
    case 'wrong-scope': {
      if (key === undefined) throw new Error('wrong-scope without key')
      if (status === 200) return 'WRONG ACCEPT'
      if (status === 403) return 'refused'
      // A 401 is right only while the verifier cannot have the key; with the key, the answer is 403.
      if (status === 401 && !(key.withdrawnAt > doneAt && validMustBeAccepted(key, sentAt, doneAt))) return 'refused'
      return 'UNEXPECTED STATUS'
    }
    default:
      if (status === 200) return 'WRONG ACCEPT'
      return REFUSAL_STATUSES[planned.kind].includes(status) ? 'refused' : 'UNEXPECTED STATUS'
  }
}

function recordIncident(planned: Planned, reply: Reply, verdict: Verdict, sentAt: number, doneAt: number): void {
  if (incidents.length >= MAX_INCIDENTS) return
  const key = planned.key
  const keyInfo =
    key === undefined
      ? ''
      : ` key=${key.key.kid} published=${rel(key.publishedAt)} withdrawn=${rel(key.withdrawnAt)}` +
        ` firstDelivered=${rel(jwks.firstDeliveredAt(key.key.kid))} lastServed=${rel(jwks.lastServedAt(key.key.kid))}` +
        ` verifierKidsAtSend=${JSON.stringify(jwks.kidsAt(sentAt - INTAKE_MARGIN_MS) ?? null)}`
  const outcome = 'error' in reply ? `error=${reply.error}` : `status=${reply.status} challenge=${JSON.stringify(reply.challenge ?? null)}`
  const auth = JSON.stringify(planned.authorization ?? null)
  incidents.push(
    `${verdict} ${planned.kind} sent=${rel(sentAt)} done=${rel(doneAt)} jwksMode=${jwks.currentMode} ${outcome}${keyInfo}` +
      ` authorization=${auth.length > 80 ? `${auth.slice(0, 80)}…` : auth}`,
  )
}

// ---------------------------------------------------------------------------------------------
// Schedule

interface ScheduledEvent {
  at: number
  apply: () => void
}

/** A calm phase's rotation, waiting for the phase's first delivered key set. */
let deferredRotation: { entry: RingKey; after: number; deadline: number } | undefined

const schedule: ScheduledEvent[] = timeline.map(({ at, phase }) => ({ at, apply: () => jwks.setMode(phase.mode) }))
rotationTimes.forEach((at, index) => {
  const next = ring[index + 1]
  const previous = ring[index]
  if (next === undefined || previous === undefined) return
  const calm = timeline.find((item) => item.at === at)?.phase.mode === 'calm'
  schedule.push({
    at,
    apply: () => {
      if (!calm) publish(next)
      else deferredRotation = { entry: next, after: performance.now(), deadline: performance.now() + unitMs }
    },
  })
  // The old key stays published halfway to the next rotation (tokens it signed still circulate).
  const gap = (rotationTimes[index + 1] ?? Infinity) - at
  const withdrawAt = at + (Number.isFinite(gap) ? gap : at - (rotationTimes[index - 1] ?? -Infinity)) / 2
  if (withdrawAt < durationMs) schedule.push({ at: withdrawAt, apply: () => withdraw(previous, next) })
})
// Stable sort: a rotation applies after the mode change of the same instant.
schedule.sort((a, b) => a.at - b.at)

// ---------------------------------------------------------------------------------------------
// Run

const parentLoopDelay = monitorEventLoopDelay({ resolution: 10 })
parentLoopDelay.enable()

const settingsText = `${framework}, concurrency ${concurrency}, token cache ${tokenCacheSize > 0 ? tokenCacheSize : 'off'}, seed ${seed}`
console.log(`bearer-guard soak: ${durationS} s, ${settingsText}`)
console.log(
  `verifier: jwksMaxAgeMs=${TIMING.jwksMaxAgeMs} jwksMinAgeMs=${TIMING.jwksMinAgeMs} jwksCooldownMs=${TIMING.jwksCooldownMs}` +
    ` fetchTimeoutMs=${TIMING.fetchTimeoutMs} maxResponseBytes=${TIMING.maxResponseBytes} jwksStaleMaxAgeMs=${TIMING.jwksStaleMaxAgeMs}`,
)
console.log(
  `schedule: ${(warmupMs / 1000).toFixed(1)} s healthy warm-up, then units of ${(unitMs / 1000).toFixed(2)} s:` +
    ` ${CYCLE.map((phase) => `${phase.rotate ? '↻' : ''}${phase.label}${phase.units > 1 ? `×${phase.units}` : ''}`).join(', ')}` +
    ` (↻ = key rotation; the old key is withdrawn halfway to the next one)`,
)
console.log(`app on http://127.0.0.1:${appPort} (pid ${child.pid}), JWKS on ${jwksUri}`)

const startedAt = performance.now()
const trafficEnd = startedAt + durationMs
let nextEvent = 0
let baseline: MemorySample | undefined
let baselinePending: Promise<MemorySample | undefined> | undefined
let peakRss = 0
let completed = 0
let lastProgressAt = startedAt
let lastProgressCount = 0

function applyDueEvents(): void {
  if (deferredRotation !== undefined) {
    const { entry, after, deadline } = deferredRotation
    if ((jwks.deliveries.at(-1)?.at ?? -Infinity) > after || performance.now() > deadline) {
      deferredRotation = undefined
      publish(entry)
    }
  }
  const elapsed = performance.now() - startedAt
  while (nextEvent < schedule.length && (schedule[nextEvent]?.at ?? Infinity) <= elapsed) {
    schedule[nextEvent]?.apply()
    nextEvent++
  }
}

function badCount(): number {
  return (
    verdicts.get('WRONG ACCEPT') +
    verdicts.get('WRONG REFUSAL') +
    verdicts.get('SERVER ERROR') +
    verdicts.get('CONNECTION ERROR') +
    verdicts.get('UNEXPECTED STATUS')
  )
}

async function progress(): Promise<void> {
  const now = performance.now()
  const rate = ((completed - lastProgressCount) * 1000) / (now - lastProgressAt)
  lastProgressAt = now
  lastProgressCount = completed
  const memory = await sampleMemory()
  if (memory !== undefined) peakRss = Math.max(peakRss, memory.rss)
  const keys = published.map((entry) => `${entry.key.kid}${entry === signer ? '*' : ''}`).join(' ')
  console.log(
    `[${((now - startedAt) / 1000).toFixed(1).padStart(6)}s] ${formatCount(completed)} req (${formatCount(Math.round(rate))}/s)` +
      ` p99 ${latency.percentile(99).toFixed(1)} ms | wrong accept ${verdicts.get('WRONG ACCEPT')}, 5xx ${verdicts.get('SERVER ERROR')},` +
      ` conn err ${verdicts.get('CONNECTION ERROR')}, wrong refusal ${verdicts.get('WRONG REFUSAL')},` +
      ` unexpected ${verdicts.get('UNEXPECTED STATUS')} | valid refused (allowed) ${verdicts.get('valid refused: key not fetchable yet (allowed)')}` +
      ` | JWKS ${jwks.totalRequests} req, mode ${jwks.currentMode} | keys ${keys}` +
      (memory === undefined ? '' : ` | app rss ${formatBytes(memory.rss)} heap ${formatBytes(memory.heapUsed)}`),
  )
}

const ticker = setInterval(() => {
  applyDueEvents()
  const elapsed = performance.now() - startedAt
  if (baselinePending === undefined && elapsed >= warmupMs) {
    baselinePending = sampleMemory(true).then((sample) => {
      baseline = sample
      if (sample !== undefined) peakRss = Math.max(peakRss, sample.rss)
      return sample
    })
  }
  if (fatal !== undefined && !stopping) stopping = true
}, 20)

const PROGRESS_EVERY_MS = 10_000
const progressTimer = setInterval(() => void progress(), PROGRESS_EVERY_MS)

async function worker(): Promise<void> {
  // Bounded: stops at the duration (or on a fatal app error); each request ends within its timeout.
  while (!stopping && performance.now() < trafficEnd) {
    const planned = plan()
    if (planned.kind === 'unknown-kid') unknownKidRequests++
    const sentAt = performance.now()
    const reply = await send(planned)
    const doneAt = performance.now()
    completed++
    latency.record(doneAt - sentAt)
    if (doneAt - sentAt > SLOW_MS) slowRequests++
    const verdict = classify(planned, reply, sentAt, doneAt)
    verdicts.add(verdict)
    const stats = perKind.get(planned.kind)
    if (stats !== undefined) {
      stats.sent++
      stats.statuses.add('error' in reply ? 'error' : String(reply.status))
      stats.verdicts.add(verdict)
    }
    if (verdict === verdict.toUpperCase()) recordIncident(planned, reply, verdict, sentAt, doneAt)
  }
}

await Promise.all(Array.from({ length: concurrency }, () => worker()))
const trafficMs = performance.now() - startedAt
stopping = true
clearInterval(ticker)
clearInterval(progressTimer)
await baselinePending
const finalMemory = await sampleMemory()
if (finalMemory !== undefined) peakRss = Math.max(peakRss, finalMemory.rss)
const longestDeliveryGap = jwks.longestDeliveryGap(performance.now())

// Shut down: the app first (it may have a fetch to the JWKS server in flight), then the rest.
toChild({ type: 'stop' })
let stopTimer: NodeJS.Timeout | undefined
const exitedInTime = await Promise.race([
  childExit.then(() => true),
  new Promise<false>((resolve) => (stopTimer = setTimeout(() => resolve(false), 10_000))),
])
clearTimeout(stopTimer)
if (!exitedInTime) {
  fatal ??= 'the app process did not exit within 10 s of stop'
  child.kill('SIGKILL')
  await childExit
}
agent.destroy()
await jwks.close()
parentLoopDelay.disable()

// ---------------------------------------------------------------------------------------------
// Report

const pad = (text: string | number, width: number) => String(text).padStart(width)
const line = (label: string, value: string) => console.log(`  ${label.padEnd(46, '.')} ${value}`)

console.log(`\n===== bearer-guard soak report: ${(trafficMs / 1000).toFixed(1)} s, ${settingsText} =====`)
console.log(
  `requests served: ${formatCount(completed)} (${formatCount(Math.round((completed * 1000) / trafficMs))} req/s);` +
    ` latency p50 ${latency.percentile(50).toFixed(2)} ms, p99 ${latency.percentile(99).toFixed(2)} ms, max ${latency.max.toFixed(1)} ms;` +
    ` ${formatCount(slowRequests)} slower than ${SLOW_MS} ms`,
)

console.log('\nby class:')
console.log(`  ${'class'.padEnd(17)}${pad('sent', 9)}${pad('200', 9)}${pad('400', 8)}${pad('401', 9)}${pad('403', 8)}${pad('other', 7)}  verdicts`)
for (const [kind, stats] of perKind) {
  const other = stats.sent - ['200', '400', '401', '403'].reduce((sum, status) => sum + stats.statuses.get(status), 0)
  const verdictText = [...stats.verdicts.counts].map(([verdict, count]) => `${verdict} ${formatCount(count)}`).join('; ')
  console.log(
    `  ${kind.padEnd(17)}${pad(formatCount(stats.sent), 9)}${pad(formatCount(stats.statuses.get('200')), 9)}` +
      `${pad(formatCount(stats.statuses.get('400')), 8)}${pad(formatCount(stats.statuses.get('401')), 9)}` +
      `${pad(formatCount(stats.statuses.get('403')), 8)}${pad(formatCount(other), 7)}  ${verdictText}`,
  )
}

console.log('\noutcomes:')
for (const verdict of [
  'accepted',
  'refused',
  'valid refused: key not fetchable yet (allowed)',
  'valid refused: key withdrawn in flight (allowed)',
  'withdrawn accepted: within max age (allowed)',
  'withdrawn accepted: no refresh since, outage (allowed)',
  'WRONG ACCEPT',
  'WRONG REFUSAL',
  'UNEXPECTED STATUS',
  'SERVER ERROR',
  'CONNECTION ERROR',
] as const) {
  line(verdict, formatCount(verdicts.get(verdict)))
}
line('401/403 without a Bearer challenge', formatCount(missingChallenges))
line(
  'valid tokens that had to be accepted',
  `${formatCount(strict.validRequired)} (accepted ${formatCount(strict.validRequiredAccepted)}); the other` +
    ` ${formatCount((perKind.get('valid')?.sent ?? 0) - strict.validRequired)} could wait for their key`,
)
line(
  'withdrawn-key tokens that had to be refused',
  `${formatCount(strict.withdrawnRequired)} (refused ${formatCount(strict.withdrawnRequiredRefused)})`,
)
if (refusalReasons.total > 0) {
  console.log('  valid-token refusals by reason:')
  for (const [reason, count] of [...refusalReasons.counts].sort((a, b) => b[1] - a[1])) console.log(`    ${formatCount(count)} × ${reason}`)
}
if (incidents.length > 0) {
  console.log(`\nincidents (first ${MAX_INCIDENTS}):`)
  for (const incident of incidents) console.log(`  ${incident}`)
}
if (appErrors.length > 0) {
  console.log('\napp server errors (first 5):')
  for (const error of appErrors) console.log(`  ${error.replaceAll('\n', '\n    ')}`)
}

// Rate-limit bound: unknown-kid refetches at most 1 per cooldown; expiry refreshes at most 1 per
// 80 % of the minimum freshness; failures back off at least 1 s (so retries add no more than the
// two above already allow); +5 for the cold start and edges.
const jwksBound = Math.ceil((trafficMs / 1000) * (1000 / TIMING.jwksCooldownMs + 1000 / (0.8 * TIMING.jwksMinAgeMs))) + 5
const jwksTotal = jwks.totalRequests
console.log(
  `\nJWKS server: ${formatCount(jwksTotal)} requests for ${formatCount(unknownKidRequests)} unknown-kid requests` +
    ` (bound ${jwksBound}: ≤ 1 unknown-kid refetch per ${TIMING.jwksCooldownMs} ms + ≤ 1 refresh per ${0.8 * TIMING.jwksMinAgeMs} ms)`,
)
const modes = ['healthy-200', 'healthy-304', 'calm-200', 'calm-304', ...FAULT_MODES, 'redirect-target-200', 'redirect-target-304']
console.log(
  `  by mode: ${modes
    .filter((mode) => jwks.requestsByOutcome.has(mode) || !mode.startsWith('redirect-target'))
    .map((mode) => `${mode} ${jwks.requestsByOutcome.get(mode) ?? 0}`)
    .join(', ')}`,
)
const unexercised = FAULT_MODES.filter((mode) => !jwks.requestsByOutcome.has(mode))
if (unexercised.length > 0) console.log(`  (no fetch landed in: ${unexercised.join(', ')} — phases too short for this duration)`)
console.log(
  `  key sets delivered (server sent, verifier took in time) ${jwks.deliveries.length};` +
    ` sent but not taken in time (host stalls) ${jwks.servedButNotDelivered};` +
    ` longest time without a delivery ${(longestDeliveryGap / 1000).toFixed(1)} s` +
    ` (stale keys serve ${((TIMING.jwksMinAgeMs + TIMING.jwksStaleMaxAgeMs) / 1000).toFixed(0)} s at least)`,
)
console.log(
  `  keys: ${ring
    .filter((entry) => Number.isFinite(entry.publishedAt))
    .map(
      (entry) =>
        `${entry.key.kid} published ${rel(entry.publishedAt)} (JWKS ${entry.publishedInMode}),` +
        ` first delivered ${rel(jwks.firstDeliveredAt(entry.key.kid))}` +
        ` (+${((jwks.firstDeliveredAt(entry.key.kid) - entry.publishedAt) / 1000).toFixed(2)} s)` +
        (Number.isFinite(entry.withdrawnAt)
          ? `, withdrawn ${rel(entry.withdrawnAt)}, last sent ${rel(jwks.lastServedAt(entry.key.kid))}`
          : ''),
    )
    .join('\n        ')}`,
)

/**
 * Memory is flat when, after forced full GCs in the app process:
 * (1) heapUsed at the end is at most 1.1 × the post-warm-up baseline + 4 MiB. JS-heap leaks show
 *     here first and precisely. Observed one-off growth (JIT, lazily compiled code) is about 1 MiB
 *     on a ~15–20 MiB baseline, with no trend; the limit leaves about 4 MiB above that, which a leak
 *     of ~40 bytes per request fills in a 30 s run at ~4k req/s, and of ~2 bytes per request in the
 *     default 600 s run. Retaining every token (verified by a mutant library) fails within seconds.
 * (2) RSS at the end is at most 1.5 × the baseline + 30 MiB: catches native/Buffer growth, while
 *     tolerating the allocator keeping freed pages and V8 growing its young generation under load
 *     (RSS has been seen to move ±15 MiB between samples without any leak).
 */
let memoryFlat = false
console.log('\nmemory (app process, after forced full GCs):')
if (baseline !== undefined && finalMemory !== undefined) {
  const heapLimit = baseline.heapUsed * 1.1 + 4 * 1024 * 1024
  const rssLimit = baseline.rss * 1.5 + 30 * 1024 * 1024
  memoryFlat = finalMemory.heapUsed <= heapLimit && finalMemory.rss <= rssLimit
  line(
    'start (after warm-up)',
    `rss ${formatBytes(baseline.rss)}, heapUsed ${formatBytes(baseline.heapUsed)}, external ${formatBytes(baseline.external)}`,
  )
  line('end', `rss ${formatBytes(finalMemory.rss)}, heapUsed ${formatBytes(finalMemory.heapUsed)}, external ${formatBytes(finalMemory.external)}`)
  line('peak rss sampled', formatBytes(peakRss))
  line('limits', `heapUsed ≤ ${formatBytes(heapLimit)} (1.1 × start + 4 MiB), rss ≤ ${formatBytes(rssLimit)} (1.5 × start + 30 MiB)`)
  line('memory flat', memoryFlat ? 'yes' : 'NO')
  line('app event-loop delay since warm-up', `max ${finalMemory.loopDelayMaxMs.toFixed(1)} ms, p99 ${finalMemory.loopDelayP99Ms.toFixed(1)} ms`)
} else {
  line('memory flat', 'NO (no samples from the app process)')
}
line('load generator event-loop delay', `max ${(parentLoopDelay.max / 1e6).toFixed(1)} ms, p99 ${(parentLoopDelay.percentile(99) / 1e6).toFixed(1)} ms`)

const failures: string[] = []
const check = (ok: boolean, reason: string) => {
  if (!ok) failures.push(reason)
}
check(verdicts.get('WRONG ACCEPT') === 0, `${verdicts.get('WRONG ACCEPT')} wrong accepts`)
check(verdicts.get('SERVER ERROR') === 0, `${verdicts.get('SERVER ERROR')} 5xx responses`)
check(verdicts.get('CONNECTION ERROR') === 0, `${verdicts.get('CONNECTION ERROR')} connection errors or timeouts`)
check(verdicts.get('WRONG REFUSAL') === 0, `${verdicts.get('WRONG REFUSAL')} wrong refusals`)
check(verdicts.get('UNEXPECTED STATUS') === 0, `${verdicts.get('UNEXPECTED STATUS')} unexpected statuses`)
check(missingChallenges === 0, `${missingChallenges} 401/403 answers without a Bearer challenge`)
check(memoryFlat, 'memory did not stay flat')
check(jwksTotal <= jwksBound, `${jwksTotal} JWKS requests, over the rate-limit bound ${jwksBound}`)
check(jwks.redirectFollowed === 0, `the verifier followed a redirect ${jwks.redirectFollowed} times`)
check(jwks.strayRequests === 0, `${jwks.strayRequests} requests for unexpected JWKS server paths`)
check(appErrors.length === 0, 'the app reported server errors')
check(jwks.errors.length === 0, `the JWKS server failed: ${jwks.errors.join('; ')}`)
check(fatal === undefined, `the app process failed: ${fatal ?? ''}`)
check(completed > 0, 'no request completed')
if (badCount() === 0 && verdicts.get('accepted') === 0) failures.push('no request was accepted')

console.log(failures.length === 0 ? '\nRESULT: PASS' : `\nRESULT: FAIL\n  - ${failures.join('\n  - ')}`)
process.exitCode = failures.length === 0 ? 0 : 1
// Everything is closed; should a handle linger anyway, do not hang.
setTimeout(() => {
  console.error('soak: a handle kept the process alive after shutdown; exiting')
  process.exit(process.exitCode ?? 1)
}, 5_000).unref()
