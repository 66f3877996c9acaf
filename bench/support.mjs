// Shared by bench/verify.mjs, bench/adapters.mjs and bench/http.mjs: arguments, keys, distinct
// tokens, the tokens every verifier must refuse, a JWK Set server on 127.0.0.1, machine details,
// failure bookkeeping, statistics, table printing and the --json file.

import { Buffer } from 'node:buffer'
import { constants, createPublicKey, generateKeyPair, randomBytes, randomUUID, sign } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import os from 'node:os'
import { dirname, relative, resolve } from 'node:path'
import { URL, fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const ISSUER = 'https://auth.example.com/'
export const AUDIENCE = 'https://api.example.com'
export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))

// ---------------------------------------------------------------------------------------------
// Arguments: --quick, --verbose, --help, the other `flags`, --name=value, and --name value (for
// the names in `valued`).

export function parseArgs(argv, valued = [], flags = []) {
  const args = { quick: false }
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]
    if (arg === '--quick') args.quick = true
    else if (arg === '--verbose') args.verbose = true
    else if (arg === '--help' || arg === '-h') args.help = true
    else if (flags.includes(arg.slice(2))) args[arg.slice(2)] = true
    else if (valued.includes(arg.slice(2)) && !arg.includes('=')) {
      if (argv[index + 1] === undefined || argv[index + 1].startsWith('--')) throw new Error(`${arg} needs a value`)
      args[arg.slice(2)] = argv[++index]
    } else {
      const match = /^--([a-z-]+)=(.*)$/.exec(arg)
      if (match === null) throw new Error(`unknown argument ${arg}`)
      args[match[1]] = match[2]
    }
  }
  return args
}

export function positiveInt(value, fallback, name) {
  if (value === undefined) return fallback
  const number = Number(value)
  if (!Number.isInteger(number) || number <= 0) throw new Error(`--${name} must be a positive whole number`)
  return number
}

/** The command line that ran this script, relative to the repository root. */
export function commandLine() {
  const script = relative(REPO_ROOT, process.argv[1]) || process.argv[1]
  const quote = (arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)
  return `node ${[script, ...process.argv.slice(2)].map(quote).join(' ')}`
}

// ---------------------------------------------------------------------------------------------
// Machine and versions

export function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')).version
  } catch {
    return '?'
  }
}

export const ownVersion = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version

export function machine() {
  const cpus = os.cpus()
  return {
    node: process.version,
    v8: process.versions.v8,
    openssl: process.versions.openssl,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    loadAverage: os.loadavg(),
  }
}

export const loadText = () => os.loadavg().map((n) => n.toFixed(2)).join(' ')

export function printMachine(title) {
  const m = machine()
  console.log(title)
  console.log(`node ${m.node} (V8 ${m.v8}, OpenSSL ${m.openssl}), ${m.platform}`)
  console.log(`cpu: ${m.cpu}, ${m.cores} cores (available parallelism ${m.availableParallelism}), load average ${loadText()}`)
}

// ---------------------------------------------------------------------------------------------
// Keys and tokens: RFC 9068 claims plus what a real authorization server adds, about 400 bytes of JSON

const signAsync = promisify(sign)
const generateKeyPairAsync = promisify(generateKeyPair)

/** How node:crypto signs and verifies each JWS algorithm (RFC 7518). */
export const SCHEMES = {
  RS256: { hash: 'sha256', options: {} },
  PS256: { hash: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } },
  ES256: { hash: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  EdDSA: { hash: null, options: {} },
}

export function keyPairFor(alg) {
  if (alg === 'RS256' || alg === 'PS256') return generateKeyPairAsync('rsa', { modulusLength: 2048 })
  if (alg === 'ES256') return generateKeyPairAsync('ec', { namedCurve: 'P-256' })
  return generateKeyPairAsync('ed25519')
}

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

const SCOPES = ['openid', 'profile', 'email', 'orders:read', 'orders:write', 'invoices:read', 'customers:read']

export function claimsFor(index, now, overrides = {}) {
  return {
    iss: ISSUER,
    sub: `${randomUUID()}`,
    aud: AUDIENCE,
    client_id: `web-portal-${(index % 17).toString(36)}`,
    iat: now,
    nbf: now,
    exp: now + 3600,
    jti: randomBytes(16).toString('base64url'),
    auth_time: now - (index % 600),
    acr: 'urn:mace:incommon:iap:silver',
    amr: index % 2 === 0 ? ['pwd', 'otp'] : ['pwd'],
    scope: SCOPES.slice(0, 3 + (index % (SCOPES.length - 2))).join(' '),
    sid: randomBytes(12).toString('base64url'),
    tenant: `tenant-${index % 97}`,
    roles: index % 3 === 0 ? ['customer', 'billing-admin'] : ['customer'],
    ...overrides,
  }
}

export async function signJws(alg, privateKey, header, payload) {
  const signingInput = `${b64url(header)}.${b64url(payload)}`
  const { hash, options } = SCHEMES[alg]
  const signature = await signAsync(hash, Buffer.from(signingInput, 'latin1'), { key: privateKey, ...options })
  return `${signingInput}.${signature.toString('base64url')}`
}

/**
 * `count` distinct tokens of one algorithm and key, their `jti`s, the precomputed inputs of a bare
 * crypto.verify of each (the LIMIT), and tokens every verifier must refuse, each with the error
 * code bearer-guard gives it (undefined where the code is not pinned down).
 */
export async function makeSuite(alg, count) {
  const { privateKey, publicKey } = await keyPairFor(alg)
  const kid = `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' }
  const pem = publicKey.export({ type: 'spki', format: 'pem' })
  const header = { alg, typ: 'at+jwt', kid }
  const now = Math.floor(Date.now() / 1000)
  const tokens = new Array(count)
  const jtis = new Array(count)
  const BATCH = 256 // signed on the libuv thread pool, so that every core signs; a few hundred at a time
  for (let start = 0; start < count; start += BATCH) {
    const jobs = []
    for (let i = start; i < Math.min(start + BATCH, count); i++) {
      const claims = claimsFor(i, now)
      jtis[i] = claims.jti
      jobs.push(signJws(alg, privateKey, header, claims).then((token) => (tokens[i] = token)))
    }
    await Promise.all(jobs)
  }
  if (new Set(tokens).size !== count || new Set(jtis).size !== count) throw new Error(`${alg}: tokens are not distinct`)

  const limitInputs = tokens.map((token) => {
    const second = token.lastIndexOf('.')
    return { data: Buffer.from(token.slice(0, second), 'latin1'), signature: Buffer.from(token.slice(second + 1), 'base64url') }
  })

  const [h0, p0, s0] = tokens[0].split('.')
  const p1 = tokens[1].split('.')[1]
  const flipped = Buffer.from(s0, 'base64url')
  flipped[flipped.length >> 1] ^= 0x01
  const otherKeys = await keyPairFor(alg)
  const bad = [
    { name: 'payload swapped', token: `${h0}.${p1}.${s0}`, code: 'signature_invalid' },
    { name: 'signature bit flipped', token: `${h0}.${p0}.${flipped.toString('base64url')}`, code: 'signature_invalid' },
    { name: 'signed by another key', token: await signJws(alg, otherKeys.privateKey, header, claimsFor(0, now)), code: 'signature_invalid' },
    { name: 'alg none', token: `${b64url({ alg: 'none', typ: 'at+jwt', kid })}.${p0}.`, code: undefined },
    {
      name: 'expired',
      token: await signJws(alg, privateKey, header, claimsFor(0, now - 7200, { exp: now - 3600 })),
      code: 'token_expired',
    },
    {
      name: 'other audience',
      token: await signJws(alg, privateKey, header, claimsFor(0, now, { aud: 'https://other-api.example.com' })),
      code: 'audience_mismatch',
    },
    {
      name: 'other issuer',
      token: await signJws(alg, privateKey, header, claimsFor(0, now, { iss: 'https://evil.example.com/' })),
      code: 'issuer_mismatch',
    },
  ]

  return { alg, kid, jwk, pem, publicKey: createPublicKey(pem), tokens, jtis, limitInputs, bad }
}

// ---------------------------------------------------------------------------------------------
// A JWK Set on 127.0.0.1, for the peers that insist on fetching keys.

export async function startJwksServer(keys) {
  let hits = 0
  const body = JSON.stringify({ keys })
  const server = createServer((req, res) => {
    hits++
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' }).end(body)
  })
  await new Promise((resolveListen) => server.listen(0, '127.0.0.1', resolveListen))
  const { port } = server.address()
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    hits: () => hits,
    close: () => new Promise((resolveClose) => server.close(resolveClose)),
  }
}

// ---------------------------------------------------------------------------------------------
// Failures: every check that fails is printed at once and counted; the scripts exit non-zero.

export const failures = []

export function fail(message) {
  failures.push(message)
  console.error(`FAIL ${message}`)
}

// ---------------------------------------------------------------------------------------------
// Statistics and tables

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

export function summary(values) {
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    spread: values.length < 2 ? 0 : (Math.max(...values) - Math.min(...values)) / median(values),
    rounds: values,
  }
}

export const fmtInt = (value) => Math.round(value).toLocaleString('en-US')
export const fmtSpread = (values) =>
  values.length < 2 ? '' : ` (${((100 * (Math.max(...values) - Math.min(...values))) / median(values)).toFixed(1)}%)`

/** Prints rows of strings as a right-aligned table (the first column left-aligned). */
export function printTable(header, rows) {
  const widths = header.map((text, column) => Math.max(text.length, ...rows.map((row) => String(row[column]).length)))
  const line = (texts) =>
    texts.map((text, column) => (column === 0 ? String(text).padEnd(widths[column]) : String(text).padStart(widths[column]))).join('  ')
  console.log(line(header))
  console.log(line(widths.map((width) => '-'.repeat(width))))
  for (const row of rows) console.log(line(row))
}

// ---------------------------------------------------------------------------------------------
// The --json file

/** Writes `report` as indented JSON to `path` (its folder made if need be) and says so. */
export function writeReport(path, report) {
  const file = resolve(path)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  console.log(`wrote ${relative(process.cwd(), file) || file}`)
}
