/**
 * Property-based tests (fast-check): the verifier never accepts a token the issuer did not mint,
 * accepts the re-signed equivalents it should, and fails only with typed bearer-guard errors.
 *
 * Signing with RSA is slow, so a pool of valid tokens is minted once and mutated; re-signing is done
 * only where a property needs it. A property that finds an accepted token prints it.
 */
import { createHmac, randomBytes, type KeyObject } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createVerifier,
  InsufficientScopeError,
  type BearerError,
  InvalidRequestError,
  InvalidTokenError,
  isBearerError,
  MissingTokenError,
  type Algorithm,
  type ErrorCode,
  type RequestLike,
  type TokenLocation,
  type Verifier,
  type VerifiedToken,
} from '../src/index.js'
import { AUDIENCE, b64url, claims, ISSUER, jwksOf, makeKey, signRaw, type TestKey } from './helpers.js'
import {
  anyStringArb,
  anyValueArb,
  B64TOKEN_CHARS,
  B64URL_ALPHABET,
  byteEditArb,
  charEditArb,
  dottedArb,
  editBytes,
  editMembers,
  editString,
  headerObjectArb,
  jsonObjectText,
  jsonTextArb,
  jsonValueArb,
  memberEditArb,
  payloadObjectArb,
  reorder,
  segmentArb,
  SPECIAL_CHARS,
  textStyleArb,
  type ByteEdit,
  type CharEdit,
  type Member,
  type MemberEdit,
} from './support/arbitraries.js'

// ---------------------------------------------------------------------------------------------
// Property 5: no unhandled rejections. Every run checks that its verification left none behind
// (see `settle`), and the whole file is checked once more at the end.
//
// Registering this listener turns off vitest's own report of unhandled rejections for this file
// (vitest leaves them to a listener the test installs), so the checks here are the only ones.

const unhandledRejections: unknown[] = []
const recordUnhandled = (reason: unknown) => {
  unhandledRejections.push(reason)
}
process.on('unhandledRejection', recordUnhandled)

afterAll(async () => {
  // Let rejections of the last runs surface: Node reports them once the microtask queue drains.
  await new Promise((resolve) => setTimeout(resolve, 50))
  process.off('unhandledRejection', recordUnhandled)
  expect(
    { count: unhandledRejections.length, first: unhandledRejections.slice(0, 3).map(describeValue) },
    'unhandled rejections while the properties ran',
  ).toEqual({ count: 0, first: [] })
})

// ---------------------------------------------------------------------------------------------
// Keys, verifiers and the pool of minted tokens.

/** Keys the issuer publishes (each JWK pins its `alg`, as the test helpers make them). */
const TRUSTED: readonly TestKey[] = [
  makeKey('RS256'),
  makeKey('RS256', 'rs256-second'),
  makeKey('PS256'),
  makeKey('ES256'),
  makeKey('ES384'),
  makeKey('EdDSA'),
]
/** The HMAC secret the issuer shares with the `mixed` and `hmac` verifiers: long enough for HS512. */
const SECRET = randomBytes(64)

/** Keys an attacker holds: same kinds, never published. */
const ATTACKER = {
  rsa: makeKey('RS256', 'attacker-rsa').privateKey,
  p256: makeKey('ES256', 'attacker-p256').privateKey,
  p384: makeKey('ES384', 'attacker-p384').privateKey,
  p521: makeKey('ES512', 'attacker-p521').privateKey,
  ed25519: makeKey('EdDSA', 'attacker-ed25519').privateKey,
  secret: randomBytes(64),
}

const VERIFIERS = {
  /** Static JWKS, default algorithms (asymmetric only). */
  jwks: createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(...TRUSTED) }),
  /**
   * Static JWKS plus an HMAC secret: the setting where algorithm confusion would hurt. With the
   * verified-token cache on, so that every mutation of a cached token (most keep its signature's
   * end, which indexes the cache) must still be refused.
   */
  mixed: createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(...TRUSTED), secret: SECRET, tokenCacheSize: 1_000 }),
  /** HS256 with a secret only. */
  hmac: createVerifier({ issuer: ISSUER, audience: AUDIENCE, secret: SECRET, algorithms: ['HS256'] }),
} satisfies Record<string, Verifier>
type VerifierName = keyof typeof VERIFIERS
const VERIFIER_NAMES = Object.keys(VERIFIERS) as VerifierName[]

type Family = 'RSA' | 'EC' | 'OKP' | 'HMAC'

function familyOf(alg: unknown): Family | undefined {
  if (typeof alg !== 'string') return undefined
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return 'RSA'
  if (/^ES(256|384|512)$/.test(alg)) return 'EC'
  if (alg === 'EdDSA') return 'OKP'
  if (/^HS(256|384|512)$/.test(alg)) return 'HMAC'
  return undefined
}

/** Signs `input` under `alg` (which must be a real algorithm name) with `material`. */
function signAs(alg: string, input: string, material: KeyObject | Uint8Array): Buffer {
  if (familyOf(alg) === 'HMAC') return createHmac(`sha${alg.slice(2)}`, material).update(input).digest()
  return signRaw(alg as Algorithm, input, material as KeyObject)
}

/** A signature by the attacker: with their key of the algorithm's kind, or an HMAC for any other name. */
function attackerSignature(alg: unknown, input: string): Buffer {
  switch (typeof alg === 'string' ? alg : '') {
    case 'ES256':
      return signAs('ES256', input, ATTACKER.p256)
    case 'ES384':
      return signAs('ES384', input, ATTACKER.p384)
    case 'ES512':
      return signAs('ES512', input, ATTACKER.p521)
    case 'EdDSA':
      return signAs('EdDSA', input, ATTACKER.ed25519)
  }
  if (familyOf(alg) === 'RSA') return signAs(alg as string, input, ATTACKER.rsa)
  return signAs(familyOf(alg) === 'HMAC' ? (alg as string) : 'HS256', input, ATTACKER.secret)
}

/** A token the issuer minted, with what it was made of. */
interface Minted {
  token: string
  alg: Algorithm
  /** The issuer's signing key; `undefined` for the shared secret. */
  key: TestKey | undefined
  header: readonly Member[]
  payload: readonly Member[]
  /** Verifiers that must accept it. */
  acceptedBy: readonly VerifierName[]
}

function mint(alg: Algorithm, key: TestKey | undefined, header: readonly Member[], payload: readonly Member[]): Minted {
  const input = `${b64url(jsonObjectText(header))}.${b64url(jsonObjectText(payload))}`
  const signature = signAs(alg, input, key?.privateKey ?? SECRET)
  const acceptedBy: VerifierName[] = key !== undefined ? ['jwks', 'mixed'] : alg === 'HS256' ? ['mixed', 'hmac'] : ['mixed']
  return { token: `${input}.${b64url(signature)}`, alg, key, header, payload, acceptedBy }
}

/** Varied valid claims: scope forms, an `aud` array, `nbf`, `scp`. */
function poolClaims(variant: number): Member[] {
  const now = Math.floor(Date.now() / 1000)
  const extra = [
    { scope: 'read:users' },
    { scope: 'read:users write:users', aud: ['https://other.example.com', AUDIENCE] },
    { scope: 'admin', nbf: now - 10, scp: ['a', 'b'], note: 'https://example.com/a/b' },
  ][variant % 3]
  // Entry order is kept as is; the issuer may emit members in any order.
  return Object.entries(claims(extra))
}

const POOL: readonly Minted[] = [
  ...TRUSTED.flatMap((key) => {
    const single = TRUSTED.filter((other) => other.alg === key.alg).length === 1
    return [0, 1, 2].map((variant) => {
      const header: Member[] =
        variant === 0
          ? [['alg', key.alg], ['kid', key.kid], ['typ', 'at+jwt']]
          : variant === 1
            ? [['typ', 'JWT'], ['kid', key.kid], ['alg', key.alg]]
            : single
              ? [['alg', key.alg]]
              : [['kid', key.kid], ['alg', key.alg]]
      return mint(key.alg, key, header, poolClaims(variant))
    })
  }),
  ...(['HS256', 'HS384', 'HS512'] as const).flatMap((alg) =>
    [0, 1, 2].map((variant) => {
      const header: Member[] = variant === 0 ? [['alg', alg], ['typ', 'at+jwt']] : variant === 1 ? [['alg', alg]] : [['kid', 'hmac-1'], ['alg', alg]]
      return mint(alg, undefined, header, poolClaims(variant))
    }),
  ),
]
const MINTED = new Set(POOL.map((entry) => entry.token))

function minted(index: number): Minted {
  const entry = POOL[index % POOL.length]
  if (entry === undefined) throw new Error('empty pool')
  return entry
}

function segmentsOf(token: string): [string, string, string] {
  const [header = '', payload = '', signature = ''] = token.split('.')
  return [header, payload, signature]
}

/** The issuer re-signs `header`/`payload` texts with the token's own key (or secret) under `alg`. */
function issuerToken(entry: Minted, headerText: string | Uint8Array, payloadText: string | Uint8Array, alg: string = entry.alg): string {
  const input = `${b64url(headerText)}.${b64url(payloadText)}`
  return `${input}.${b64url(signAs(alg, input, entry.key?.privateKey ?? SECRET))}`
}

// ---------------------------------------------------------------------------------------------
// What a failure must look like.

type ErrorClassName = 'MissingTokenError' | 'InvalidRequestError' | 'InvalidTokenError' | 'InsufficientScopeError'
const ERROR_CLASSES = { MissingTokenError, InvalidRequestError, InvalidTokenError, InsufficientScopeError }
const STATUS: Record<ErrorClassName, number> = {
  MissingTokenError: 401,
  InvalidRequestError: 400,
  InvalidTokenError: 401,
  InsufficientScopeError: 403,
}

/** Every error code and the class that carries it (a `Record`, so a new code must be added here). */
const CLASS_OF_CODE: Record<ErrorCode, ErrorClassName> = {
  credentials_missing: 'MissingTokenError',
  credentials_malformed: 'InvalidRequestError',
  credentials_duplicated: 'InvalidRequestError',
  token_too_large: 'InvalidTokenError',
  token_malformed: 'InvalidTokenError',
  token_unsupported_format: 'InvalidTokenError',
  header_invalid: 'InvalidTokenError',
  algorithm_not_allowed: 'InvalidTokenError',
  type_not_allowed: 'InvalidTokenError',
  key_not_found: 'InvalidTokenError',
  key_unusable: 'InvalidTokenError',
  key_set_unavailable: 'InvalidTokenError',
  signature_invalid: 'InvalidTokenError',
  token_expired: 'InvalidTokenError',
  token_not_yet_valid: 'InvalidTokenError',
  token_issued_in_future: 'InvalidTokenError',
  token_too_old: 'InvalidTokenError',
  issuer_mismatch: 'InvalidTokenError',
  audience_mismatch: 'InvalidTokenError',
  claim_missing: 'InvalidTokenError',
  claim_invalid: 'InvalidTokenError',
  scope_insufficient: 'InsufficientScopeError',
}

function describeValue(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}\n${value.stack ?? ''}`
  try {
    return `${typeof value}: ${String(value)}`
  } catch {
    return `${typeof value} (not printable)`
  }
}

/**
 * Throws unless `error` is a bearer-guard error of one of `allowed`, with a known code carried by
 * the right class, the right status, a usable challenge, and a message that does not echo `input`.
 */
function assertTypedFailure(error: unknown, allowed: readonly ErrorClassName[], input?: unknown): asserts error is BearerError {
  if (!isBearerError(error)) throw new Error(`failed with something other than a BearerError: ${describeValue(error)}`)
  const className = Object.hasOwn(CLASS_OF_CODE, error.code) ? CLASS_OF_CODE[error.code] : undefined
  if (className === undefined) throw new Error(`unknown error code ${JSON.stringify(error.code)}`)
  if (!(error instanceof ERROR_CLASSES[className])) throw new Error(`code ${error.code} on a ${error.name}, expected a ${className}`)
  if (!allowed.includes(className)) throw new Error(`failed with ${className} (${error.code}), expected one of ${allowed.join(', ')}`)
  if (error.status !== STATUS[className]) throw new Error(`${className} with status ${error.status}`)
  if (typeof error.message !== 'string' || !error.wwwAuthenticate.startsWith('Bearer')) throw new Error(`unusable error: ${describeValue(error)}`)
  if (typeof input === 'string' && input.length >= 16 && error.message.includes(input)) throw new Error('the error message echoes the token')
}

type Outcome = { kind: 'resolved'; value: VerifiedToken } | { kind: 'rejected'; error: unknown }

/**
 * Calls `run` and settles it. A synchronous throw, a non-promise result, or a rejection left
 * unhandled by the call (property 5; Node reports those once the microtask queue drains, before
 * the next macrotask) fails the property.
 */
async function settle(run: () => Promise<VerifiedToken>): Promise<Outcome> {
  const unhandledBefore = unhandledRejections.length
  let promise: unknown
  try {
    promise = run()
  } catch (error) {
    throw new Error(`threw synchronously instead of rejecting: ${describeValue(error)}`)
  }
  if (!(promise instanceof Promise)) throw new Error('did not return a promise')
  let outcome: Outcome
  try {
    outcome = { kind: 'resolved', value: (await promise) as VerifiedToken }
  } catch (error) {
    outcome = { kind: 'rejected', error }
  }
  await new Promise((resolve) => setImmediate(resolve))
  const leaked = unhandledRejections.slice(unhandledBefore)
  if (leaked.length > 0) throw new Error(`left ${leaked.length} unhandled rejection(s): ${describeValue(leaked[0])}`)
  return outcome
}

/**
 * The core of property 1: unless `token` is exactly a minted token, every verifier refuses it with
 * an InvalidTokenError. Returns the code each verifier refused it with (nothing for a minted token).
 */
async function assertNeverAccepted(token: string, how: string): Promise<Map<VerifierName, ErrorCode>> {
  const codes = new Map<VerifierName, ErrorCode>()
  if (MINTED.has(token)) return codes
  for (const name of VERIFIER_NAMES) {
    const outcome = await settle(() => VERIFIERS[name].verify(token))
    if (outcome.kind === 'resolved') {
      throw new Error(`verifier "${name}" accepted a token the issuer never minted:\n  ${token}\n  made by: ${how}`)
    }
    assertTypedFailure(outcome.error, ['InvalidTokenError'], token)
    codes.set(name, outcome.error.code)
  }
  return codes
}

/** numRuns for the properties; FC_RUNS_SCALE=10 makes a long soak run. */
const SCALE = Number(process.env.FC_RUNS_SCALE ?? '1')
const runs = (n: number) => ({ numRuns: Math.max(1, Math.round(n * SCALE)) })
const TIMEOUT = 60_000

describe('the minted pool (precondition of every property)', () => {
  it('every minted token verifies exactly where it should', async () => {
    for (const entry of POOL) {
      for (const name of VERIFIER_NAMES) {
        const outcome = await settle(() => VERIFIERS[name].verify(entry.token))
        expect(outcome.kind, `${entry.alg} token on "${name}"`).toBe(entry.acceptedBy.includes(name) ? 'resolved' : 'rejected')
      }
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Property 1: mutations of a valid token are refused, unless the result is a minted token.

type Segment = 0 | 1 | 2
const segmentIndexArb = fc.constantFrom<Segment>(0, 1, 2)
const poolIndexArb = fc.nat({ max: POOL.length - 1 })

/** A mutation, as data (so a counterexample prints what was done). */
type Mutation =
  | { kind: 'raw'; edit: CharEdit }
  | { kind: 'trailing-bits'; segment: Segment; xor: number }
  | { kind: 'segment'; segment: Segment; edit: CharEdit }
  | { kind: 'decoded'; segment: Segment; edit: ByteEdit }
  | { kind: 'json-text'; segment: 0 | 1; edit: CharEdit }
  | { kind: 'members'; segment: 0 | 1; edit: MemberEdit }
  | { kind: 'swap'; segment: Segment; from: number; fromSegment: Segment }
  | { kind: 'structure'; change: StructureChange }
  | { kind: 'alg'; alg: { set: unknown } | { remove: true }; signature: SignatureMode; material: number }
  | { kind: 'kid'; kid: { other: number } | { set: unknown } | { remove: true }; signature: 'keep' | 'issuer-key' | 'attacker' }

type StructureChange =
  | 'drop-signature' | 'empty-signature' | 'trailing-dot' | 'extra-segment' | 'five-segments' | 'leading-dot'
  | 'double-dot' | 'padding' | 'standard-base64' | 'surrounding-space' | 'json-serialization' | 'bearer-prefix'
  | 'swap-header-payload' | 'upper-case' | 'lower-case' | 'percent-encoded'

/**
 * How the signature is produced after a header change:
 * - keep: the original signature; empty/strip: none at all (as `alg: none` would have it);
 * - random: random bytes;
 * - attacker: the attacker's key of the new algorithm's kind;
 * - issuer-key: the issuer's own key, under the new algorithm when the key can do it, else under
 *   the original algorithm (so the signature is genuine, but the header says something else);
 * - confusion: an HMAC keyed with the issuer's *public* key material (PEM, DER, JWK, raw bytes).
 */
type SignatureMode = 'keep' | 'empty' | 'strip' | 'random' | 'attacker' | 'issuer-key' | 'confusion'

const ALG_VALUES = [
  'none', 'None', 'NONE', 'nOnE', '', ' ',
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512',
  'rs256', 'Rs256', 'RS256 ', ' RS256', 'RS256\u0000', 'ps256', 'es256', 'eddsa', 'EDDSA', 'Ed25519', 'ED25519', 'Ed448',
  'hs256', 'Hs256', 'HS256 ', 'ES256K', 'RS1', 'HS1', 'RSA-OAEP', 'dir', 'A128KW', 'A256GCM', 'PS256\n', '__proto__', 'constructor',
]

const structureArb = fc.constantFrom<StructureChange>(
  'drop-signature', 'empty-signature', 'trailing-dot', 'extra-segment', 'five-segments', 'leading-dot', 'double-dot', 'padding',
  'standard-base64', 'surrounding-space', 'json-serialization', 'bearer-prefix', 'swap-header-payload', 'upper-case', 'lower-case',
  'percent-encoded',
)

const mutationArbs = {
  chars: fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('raw'), edit: charEditArb }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant('segment'), segment: segmentIndexArb, edit: charEditArb }), weight: 4 },
    // Another spelling of the same bytes: the unused low bits of a segment's last character set.
    { arbitrary: fc.record({ kind: fc.constant('trailing-bits'), segment: segmentIndexArb, xor: fc.integer({ min: 1, max: 15 }) }), weight: 1 },
  ),
  bytes: fc.oneof(
    fc.record({ kind: fc.constant('decoded'), segment: segmentIndexArb, edit: byteEditArb }),
    fc.record({ kind: fc.constant('json-text'), segment: fc.constantFrom<0 | 1>(0, 1), edit: charEditArb }),
  ),
  members: fc.record({ kind: fc.constant('members'), segment: fc.constantFrom<0 | 1>(0, 1), edit: memberEditArb }),
  structure: fc.oneof(
    fc.record({ kind: fc.constant('swap'), segment: segmentIndexArb, from: poolIndexArb, fromSegment: segmentIndexArb }),
    fc.record({ kind: fc.constant('structure'), change: structureArb }),
  ),
  alg: fc.oneof(
    {
      arbitrary: fc.record({
        kind: fc.constant('alg'),
        alg: fc.oneof(
          { arbitrary: fc.record({ set: fc.constantFrom(...ALG_VALUES) }), weight: 6 },
          { arbitrary: fc.record({ set: fc.oneof(fc.string({ maxLength: 8 }), fc.mixedCase(fc.constantFrom('rs256', 'none', 'hs256', 'eddsa'))) }), weight: 2 },
          { arbitrary: fc.record({ set: jsonValueArb }), weight: 1 },
          { arbitrary: fc.constant({ remove: true as const }), weight: 1 },
        ),
        signature: fc.constantFrom<SignatureMode>('keep', 'empty', 'strip', 'random', 'attacker', 'issuer-key', 'confusion'),
        material: fc.nat(),
      }),
      weight: 4,
    },
    // The classic attacks, more often: `none` without a signature, and HS* keyed with a public key.
    {
      arbitrary: fc.record({
        kind: fc.constant('alg'),
        alg: fc.record({ set: fc.constantFrom('none', 'None', 'NONE', 'nOnE') }),
        signature: fc.constantFrom<SignatureMode>('empty', 'strip', 'keep'),
        material: fc.nat(),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('alg'),
        alg: fc.record({ set: fc.constantFrom('HS256', 'HS384', 'HS512') }),
        signature: fc.constant<SignatureMode>('confusion'),
        material: fc.nat(),
      }),
      weight: 1,
    },
  ),
  kid: fc.record({
    kind: fc.constant('kid'),
    kid: fc.oneof(
      { arbitrary: fc.record({ other: fc.nat({ max: TRUSTED.length - 1 }) }), weight: 4 },
      { arbitrary: fc.record({ set: fc.oneof(fc.constantFrom('', 'hmac-1', 'attacker-rsa', '__proto__', 'constructor', 'ES256-KEY'), jsonValueArb) }), weight: 2 },
      { arbitrary: fc.constant({ remove: true as const }), weight: 1 },
    ),
    signature: fc.constantFrom('keep' as const, 'issuer-key' as const, 'attacker' as const),
  }),
} satisfies Record<string, fc.Arbitrary<Mutation>>

/** Public key material an attacker could try as an HMAC secret (algorithm confusion). */
function publicMaterials(entry: Minted): (string | Buffer)[] {
  const key = entry.key ?? TRUSTED[0]
  if (key === undefined) return []
  const jwk = key.jwk
  const raw = typeof jwk.n === 'string' ? jwk.n : typeof jwk.x === 'string' ? jwk.x : ''
  return [
    key.publicKey.export({ type: 'spki', format: 'pem' }),
    key.publicKey.export({ type: 'spki', format: 'der' }),
    JSON.stringify(jwk),
    JSON.stringify(jwksOf(key)),
    Buffer.from(raw, 'base64url'),
    raw,
  ]
}

function replaceSegment(token: string, segment: Segment, value: string): string {
  const parts = segmentsOf(token)
  parts[segment] = value
  return parts.join('.')
}

function decodeSegment(token: string, segment: Segment): Buffer {
  return Buffer.from(segmentsOf(token)[segment], 'base64url')
}

function withMember(members: readonly Member[], name: string, change: { set: unknown } | { remove: true }): Member[] {
  if ('remove' in change) return members.filter(([member]) => member !== name)
  return members.some(([member]) => member === name)
    ? members.map(([member, value]) => (member === name ? [member, change.set] : [member, value]))
    : [...members, [name, change.set]]
}

function restructure(token: string, change: StructureChange): string {
  const [h, p, s] = segmentsOf(token)
  switch (change) {
    case 'drop-signature':
      return `${h}.${p}`
    case 'empty-signature':
      return `${h}.${p}.`
    case 'trailing-dot':
      return `${token}.`
    case 'extra-segment':
      return `${token}.${s}`
    case 'five-segments':
      return `${token}.${p}.${s}`
    case 'leading-dot':
      return `.${token}`
    case 'double-dot':
      return `${h}..${p}.${s}`
    case 'padding':
      return [h, p, s].map((segment) => segment + '='.repeat((4 - (segment.length % 4)) % 4 || 2)).join('.')
    case 'standard-base64':
      return [h, p, s].map((segment) => Buffer.from(segment, 'base64url').toString('base64')).join('.')
    case 'surrounding-space':
      return ` ${token}\n`
    case 'json-serialization':
      return JSON.stringify({ protected: h, payload: p, signature: s })
    case 'bearer-prefix':
      return `Bearer ${token}`
    case 'swap-header-payload':
      return `${p}.${h}.${s}`
    case 'upper-case':
      return token.toUpperCase()
    case 'lower-case':
      return token.toLowerCase()
    case 'percent-encoded':
      return token.replaceAll('-', '%2D').replaceAll('_', '%5F').replaceAll('.', '%2E')
  }
}

/** Applies `mutation` to a minted token and returns the resulting string. */
function mutate(entry: Minted, mutation: Mutation): string {
  const { token } = entry
  const [h, p] = segmentsOf(token)
  switch (mutation.kind) {
    case 'raw':
      return editString(token, mutation.edit)
    case 'trailing-bits': {
      // Unpadded base64url leaves 4 (length ≡ 2 mod 4) or 2 (≡ 3 mod 4) bits unused in the last character.
      const segment = segmentsOf(token)[mutation.segment]
      const unused = segment.length % 4 === 2 ? 0x0f : segment.length % 4 === 3 ? 0x03 : 0
      const last = B64URL_ALPHABET.indexOf(segment.slice(-1))
      const dirty = B64URL_ALPHABET.charAt(last ^ (mutation.xor & unused))
      return replaceSegment(token, mutation.segment, segment.slice(0, -1) + dirty)
    }
    case 'segment':
      return replaceSegment(token, mutation.segment, editString(segmentsOf(token)[mutation.segment], mutation.edit))
    case 'decoded':
      return replaceSegment(token, mutation.segment, editBytes(decodeSegment(token, mutation.segment), mutation.edit).toString('base64url'))
    case 'json-text': {
      const text = decodeSegment(token, mutation.segment).toString('utf8')
      return replaceSegment(token, mutation.segment, b64url(editString(text, mutation.edit)))
    }
    case 'members': {
      const members = mutation.segment === 0 ? entry.header : entry.payload
      return replaceSegment(token, mutation.segment, b64url(editMembers(members, mutation.edit)))
    }
    case 'swap':
      return replaceSegment(token, mutation.segment, segmentsOf(minted(mutation.from).token)[mutation.fromSegment])
    case 'structure':
      return restructure(token, mutation.change)
    case 'alg': {
      const header = withMember(entry.header, 'alg', mutation.alg)
      const headerText = jsonObjectText(header)
      const newAlg = 'set' in mutation.alg ? mutation.alg.set : undefined
      const input = `${b64url(headerText)}.${p}`
      const unchanged = b64url(headerText) === h
      switch (mutation.signature) {
        case 'keep':
          return `${input}.${segmentsOf(token)[2]}`
        case 'empty':
          return `${input}.`
        case 'strip':
          return input
        case 'random':
          return `${input}.${b64url(randomBytes(1 + (mutation.material % 300)))}`
        case 'attacker':
          return `${input}.${b64url(attackerSignature(newAlg, input))}`
        case 'issuer-key': {
          // The issuer signing its own unchanged header is a legitimate token (a fresh signature for
          // randomized algorithms): keep the original signature then. A secret is not bound to one HS
          // algorithm, so an HS token re-signed with it under another HS name is legitimate too:
          // sign under the original algorithm instead, so that the header lies about the signature.
          if (unchanged) return token
          const sameKind = familyOf(newAlg) !== undefined && familyOf(newAlg) === familyOf(entry.alg)
          const alg = sameKind && entry.key !== undefined ? (newAlg as string) : entry.alg
          return `${input}.${b64url(signAs(alg, input, entry.key?.privateKey ?? SECRET))}`
        }
        case 'confusion': {
          const materials = publicMaterials(entry)
          const material = materials[mutation.material % materials.length] ?? ''
          const alg = familyOf(newAlg) === 'HMAC' ? (newAlg as string) : 'HS256'
          return `${input}.${b64url(createHmac(`sha${alg.slice(2)}`, material).update(input).digest())}`
        }
      }
      break
    }
    case 'kid': {
      const change = 'other' in mutation.kid ? { set: TRUSTED[mutation.kid.other]?.kid } : mutation.kid
      const headerText = jsonObjectText(withMember(entry.header, 'kid', change))
      const input = `${b64url(headerText)}.${p}`
      if (b64url(headerText) === h) return token
      // Re-signing with the issuer's key is an attack only when the kid now names another key (or
      // an impossible value): without a kid, naming the signing key itself, or on an HMAC token
      // (where kid plays no part), the issuer's own signature legitimately verifies, so the
      // attacker's key signs instead.
      const issuerMayNotSign = entry.key === undefined || 'remove' in change || change.set === entry.key.kid
      const mode = mutation.signature === 'issuer-key' && issuerMayNotSign ? 'attacker' : mutation.signature
      if (mode === 'keep') return `${input}.${segmentsOf(token)[2]}`
      if (mode === 'attacker') return `${input}.${b64url(attackerSignature(entry.alg, input))}`
      return `${input}.${b64url(signAs(entry.alg, input, entry.key?.privateKey ?? SECRET))}`
    }
  }
  return token
}

interface MutationCase {
  original: string
  mutated: string
  mutation: Mutation
}

function mutationCases(mutationArb: fc.Arbitrary<Mutation>): fc.Arbitrary<MutationCase> {
  return fc.tuple(poolIndexArb, mutationArb).map(([index, mutation]) => {
    const entry = minted(index)
    return { original: entry.token, mutated: mutate(entry, mutation), mutation }
  })
}

function neverAcceptedProperty(mutationArb: fc.Arbitrary<Mutation>, seen?: Map<string, number>) {
  return fc.asyncProperty(mutationCases(mutationArb), async ({ mutated, mutation }) => {
    const codes = await assertNeverAccepted(mutated, JSON.stringify(mutation))
    for (const code of codes.values()) seen?.set(code, (seen.get(code) ?? 0) + 1)
  })
}

describe('property 1: a mutated token is never accepted unless it is a minted token', () => {
  it('flipped, replaced, inserted, deleted, swapped characters anywhere in the token or in one segment', { timeout: TIMEOUT }, async () => {
    await fc.assert(neverAcceptedProperty(mutationArbs.chars), runs(3000))
  })

  it('edits of the decoded bytes of a segment and of the header/payload JSON text, re-encoded', { timeout: TIMEOUT }, async () => {
    await fc.assert(neverAcceptedProperty(mutationArbs.bytes), runs(2000))
  })

  it('re-ordered, duplicated, added, removed, renamed members and re-styled JSON, not re-signed', { timeout: TIMEOUT }, async () => {
    const seen = new Map<string, number>()
    await fc.assert(neverAcceptedProperty(mutationArbs.members, seen), runs(1500))
    // Not re-signed: the signature no longer covers the header and payload.
    expect([...seen.keys()]).toContain('signature_invalid')
  })

  it('segments swapped between tokens, and structural changes (segments, separators, encodings)', { timeout: TIMEOUT }, async () => {
    await fc.assert(neverAcceptedProperty(mutationArbs.structure), runs(1000))
  })

  it('alg changed to any other value (none, other families, case variants), with or without re-signing', { timeout: TIMEOUT }, async () => {
    const seen = new Map<string, number>()
    await fc.assert(neverAcceptedProperty(mutationArbs.alg, seen), runs(2000))
    expect([...seen.keys()]).toEqual(expect.arrayContaining(['algorithm_not_allowed', 'signature_invalid', 'token_malformed']))
  })

  it('kid swapped to another key, removed or set to any value, with or without re-signing', { timeout: TIMEOUT }, async () => {
    await fc.assert(neverAcceptedProperty(mutationArbs.kid, undefined), runs(1000))
  })
})

// ---------------------------------------------------------------------------------------------
// Property 1b: even signed by the issuer's own key, a token that breaks the strict parsing rules
// (duplicate or __proto__ members, non-objects, invalid UTF-8, deep nesting, trailing bytes) or
// the header rules (crit, b64, typ) is refused, with the right code.

type StrictBreak =
  | { break: 'duplicate'; segment: 0 | 1; at: number; value: { same: true } | { other: unknown } }
  | { break: 'nested-duplicate'; segment: 0 | 1; name: string; first: unknown; second: unknown }
  | { break: 'proto'; segment: 0 | 1; nested: boolean; value: unknown }
  | { break: 'not-object'; segment: 0 | 1; text: string }
  | { break: 'invalid-utf8'; segment: 0 | 1; bytes: number[] }
  | { break: 'too-deep'; segment: 0 | 1; depth: number; objects: boolean }
  | { break: 'trailing'; segment: 0 | 1; text: string }
  | { break: 'crit'; value: unknown }
  | { break: 'b64'; value: unknown }
  | { break: 'typ'; value: unknown }

const INVALID_UTF8 = [[0xff], [0xfe], [0x80], [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98]]

/** `typ` values the verifier may accept in its default mode (RFC 7515 §4.1.9: case-insensitive, optional `application/`). */
function isAcceptableTyp(typ: unknown): boolean {
  if (typeof typ !== 'string') return false
  const lower = typ.toLowerCase()
  const type = lower.startsWith('application/') ? lower.slice('application/'.length) : lower
  return type === 'jwt' || type === 'at+jwt'
}

const strictBreakArb: fc.Arbitrary<StrictBreak> = fc.oneof(
  fc.record({
    break: fc.constant('duplicate'),
    segment: fc.constantFrom<0 | 1>(0, 1),
    at: fc.nat(),
    value: fc.oneof(fc.constant({ same: true as const }), fc.record({ other: jsonValueArb })),
  }),
  fc.record({
    break: fc.constant('nested-duplicate'),
    segment: fc.constantFrom<0 | 1>(0, 1),
    name: fc.string({ maxLength: 4 }),
    first: jsonValueArb,
    second: jsonValueArb,
  }),
  fc.record({ break: fc.constant('proto'), segment: fc.constantFrom<0 | 1>(0, 1), nested: fc.boolean(), value: jsonValueArb }),
  fc.record({
    break: fc.constant('not-object'),
    segment: fc.constantFrom<0 | 1>(0, 1),
    text: fc.oneof(
      fc.jsonValue({ maxDepth: 2 }).filter((value) => typeof value !== 'object' || value === null || Array.isArray(value)).map((value) => JSON.stringify(value)),
      fc.constantFrom('', ' ', 'null', '[]', '[{}]', '"{}"', '{', '}', '{"a"}', '{"a":}', "{'a':1}", '{a:1}', '{"a":1,}', '{"a":01}', '{"a":NaN}', '{"a":undefined}'),
    ),
  }),
  fc.record({ break: fc.constant('invalid-utf8'), segment: fc.constantFrom<0 | 1>(0, 1), bytes: fc.constantFrom(...INVALID_UTF8) }),
  fc.record({ break: fc.constant('too-deep'), segment: fc.constantFrom<0 | 1>(0, 1), depth: fc.integer({ min: 32, max: 300 }), objects: fc.boolean() }),
  fc.record({
    break: fc.constant('trailing'),
    segment: fc.constantFrom<0 | 1>(0, 1),
    text: fc.oneof(fc.constantFrom('}', ',', 'x', '{}', '\u0000', '\ufeff', '"', '//'), fc.string({ minLength: 1, maxLength: 4 }).filter((text) => text.trim() !== '')),
  }),
  fc.record({ break: fc.constant('crit'), value: fc.oneof(fc.constantFrom(['b64'], ['exp'], [], 'b64'), jsonValueArb) }),
  fc.record({ break: fc.constant('b64'), value: fc.oneof(fc.constantFrom(false, 'true', 1, 0, null), jsonValueArb).filter((value) => value !== true) }),
  fc.record({
    break: fc.constant('typ'),
    value: fc
      .oneof(fc.constantFrom('jose', 'JOSE+JSON', 'dpop+jwt', 'secevent+jwt', 'id_token+jwt', 'JWT ', ' at+jwt', 'at+jwt;x', 'application/', 'jwt\u0000', ''), fc.string({ maxLength: 10 }), jsonValueArb)
      .filter((value) => !isAcceptableTyp(value)),
  }),
)

/** The header and payload texts (or bytes) of a minted token after `change`, to be re-signed. */
function brokenTexts(entry: Minted, change: StrictBreak): [string | Buffer, string | Buffer] {
  const texts: [string | Buffer, string | Buffer] = [jsonObjectText(entry.header), jsonObjectText(entry.payload)]
  const membersOf = (segment: 0 | 1) => (segment === 0 ? entry.header : entry.payload)
  switch (change.break) {
    case 'duplicate':
      texts[change.segment] = editMembers(membersOf(change.segment), { edit: 'duplicate', at: change.at, value: change.value })
      break
    case 'nested-duplicate': {
      const inner = jsonObjectText([[change.name, change.first], [change.name, change.second]])
      texts[change.segment] = jsonObjectText(membersOf(change.segment)).replace(/}$/, `,"x":{"y":[${inner}]}}`)
      break
    }
    case 'proto': {
      const proto = jsonObjectText([['__proto__', change.value]])
      const extra = change.nested ? `,"x":[1,${proto}]` : `,"__proto__":${JSON.stringify(change.value)}`
      texts[change.segment] = jsonObjectText(membersOf(change.segment)).replace(/}$/, `${extra}}`)
      break
    }
    case 'not-object':
      texts[change.segment] = change.text
      break
    case 'invalid-utf8': {
      const [before = '', after = ''] = jsonObjectText([...membersOf(change.segment), ['x', 'a\u0001b']]).split('\u0001')
      texts[change.segment] = Buffer.concat([Buffer.from(before), Buffer.from(change.bytes), Buffer.from(after)])
      break
    }
    case 'too-deep': {
      // `depth` levels inside the top-level object: the document is depth + 1 deep (limit 32).
      const nested = change.objects ? `${'{"a":'.repeat(change.depth)}1${'}'.repeat(change.depth)}` : `${'['.repeat(change.depth)}${']'.repeat(change.depth)}`
      texts[change.segment] = jsonObjectText(membersOf(change.segment)).replace(/}$/, `,"x":${nested}}`)
      break
    }
    case 'trailing':
      texts[change.segment] = jsonObjectText(membersOf(change.segment)) + change.text
      break
    case 'crit':
    case 'b64':
    case 'typ':
      texts[0] = jsonObjectText(withMember(entry.header, change.break, { set: change.value }))
      break
  }
  return texts
}

/** Nesting depth of a JSON value: 0 for a scalar, 1 for `[]` or `{}`. */
function jsonDepth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  return 1 + Math.max(0, ...Object.values(value).map(jsonDepth))
}

/** Deepest nesting the verifier accepts in a header or payload (documented limit). */
const MAX_JSON_DEPTH = 32

function expectedStrictCodes(change: StrictBreak): ErrorCode[] {
  // A header member nested past the limit, or holding a `__proto__` member anywhere (fast-check's
  // JSON values can), makes the whole header malformed before its rules apply.
  if ('value' in change && (1 + jsonDepth(change.value) > MAX_JSON_DEPTH || hasProtoMember(change.value))) return ['token_malformed']
  if (change.break === 'crit' || change.break === 'b64') return ['header_invalid']
  if (change.break === 'typ') return ['type_not_allowed', 'header_invalid']
  return ['token_malformed']
}

describe('property 1b: tokens signed by the issuer but breaking the parsing or header rules are refused', () => {
  it('duplicate and __proto__ members, non-objects, invalid UTF-8, deep nesting, trailing bytes, crit, b64, typ', { timeout: TIMEOUT }, async () => {
    const cases = fc.tuple(poolIndexArb, strictBreakArb).map(([index, change]) => {
      const entry = minted(index)
      const [header, payload] = brokenTexts(entry, change)
      return { token: issuerToken(entry, header, payload), index, change }
    })
    await fc.assert(
      fc.asyncProperty(cases, async ({ token, index, change }) => {
        const codes = await assertNeverAccepted(token, JSON.stringify(change))
        const expected = expectedStrictCodes(change)
        // Verifiers that accept the original token get as far as the broken part; the others may stop
        // earlier (an algorithm they do not allow).
        for (const name of minted(index).acceptedBy) {
          const code = codes.get(name)
          if (code === undefined || !expected.includes(code)) throw new Error(`"${name}" refused with ${code}, expected ${expected.join(' or ')}: ${token}`)
        }
      }),
      runs(800),
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Property 2: re-signed equivalents are accepted, with the same claims (so property 1 cannot pass
// by refusing everything).

describe('property 2: tokens re-signed by the issuer with re-ordered members or other JSON spellings are accepted', () => {
  it('payload and header members in any order, spaces, \\u-escaped names, escaped slashes', { timeout: TIMEOUT }, async () => {
    const cases = fc.record({
      index: poolIndexArb,
      payloadOrder: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
      headerOrder: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
      payloadStyle: textStyleArb,
      headerStyle: textStyleArb,
    })
    await fc.assert(
      fc.asyncProperty(cases, async ({ index, payloadOrder, headerOrder, payloadStyle, headerStyle }) => {
        const entry = minted(index)
        const token = issuerToken(
          entry,
          jsonObjectText(reorder(entry.header, headerOrder), headerStyle),
          jsonObjectText(reorder(entry.payload, payloadOrder), payloadStyle),
        )
        for (const name of entry.acceptedBy) {
          const outcome = await settle(() => VERIFIERS[name].verify(token))
          if (outcome.kind === 'rejected') {
            throw new Error(`verifier "${name}" refused an equivalent re-signed token (${describeValue(outcome.error)}):\n  ${token}`)
          }
          expect({ ...outcome.value.payload }).toEqual(Object.fromEntries(entry.payload))
          expect({ ...outcome.value.header }).toEqual(Object.fromEntries(entry.header))
          expect(outcome.value.token).toBe(token)
        }
      }),
      runs(300),
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Property 3: garbage is refused, only ever with a typed error.

/** Values that are not strings, some of them dressed up as a valid token. */
function nonStringTokens(valid: string): unknown[] {
  return [
    undefined,
    null,
    0,
    Number.NaN,
    1n,
    true,
    Symbol('token'),
    () => valid,
    Buffer.from(valid),
    new TextEncoder().encode(valid),
    new String(valid),
    [valid],
    { toString: () => valid },
    { valueOf: () => valid, [Symbol.toPrimitive]: () => valid },
    Object.create(null),
    new Proxy({}, { get: () => { throw new Error('trap') } }),
    new Proxy(() => valid, { apply: () => { throw new Error('trap') } }),
    Promise.resolve(valid),
    new Date(),
    /a.b.c/,
  ]
}

/** A compact token built from given header and payload texts and a signature of a plausible length. */
const builtTokenArb = fc
  .record({
    header: fc.oneof(jsonTextArb, headerObjectArb.map((header) => JSON.stringify(header))),
    payload: fc.oneof(jsonTextArb, payloadObjectArb.map((payload) => JSON.stringify(payload))),
    signature: fc.oneof(
      fc.constantFrom(0, 1, 32, 48, 64, 96, 132, 255, 256, 257).map((length) => randomBytes(length)),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    ),
  })
  .map(({ header, payload, signature }) => `${b64url(header)}.${b64url(payload)}.${signature.toString('base64url')}`)

const garbageArb: fc.Arbitrary<unknown> = fc.oneof(
  anyStringArb,
  dottedArb,
  builtTokenArb,
  fc.tuple(segmentArb, fc.constantFrom(...SPECIAL_CHARS), segmentArb).map(([a, sep, b]) => `${a}${sep}${b}`),
  // Around the length limit (8192 characters).
  fc.integer({ min: 8150, max: 8250 }).map((length) => `${'A'.repeat(length - 8)}.AAA.AAA`.slice(0, length)),
  fc.integer({ min: 0, max: 3 }).map((n) => 'x'.repeat(8193 * (n + 1))),
  fc.constantFrom(...nonStringTokens(minted(0).token)),
  anyValueArb,
)

describe('property 3: garbage is refused, only ever with a typed error', () => {
  it('verify(random strings, a.b.c shapes, random JSON segments, huge numbers, deep nesting, non-strings)', { timeout: TIMEOUT }, async () => {
    const cases = fc.record({ input: garbageArb, verifier: fc.constantFrom(...VERIFIER_NAMES) })
    await fc.assert(
      fc.asyncProperty(cases, async ({ input, verifier }) => {
        const outcome = await settle(() => VERIFIERS[verifier].verify(input as string))
        if (outcome.kind === 'resolved') throw new Error(`verifier "${verifier}" accepted garbage: ${describeValue(input)}`)
        assertTypedFailure(outcome.error, ['InvalidTokenError'], input)
      }),
      runs(3000),
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Property 3b: claims of any shape, validly signed by the issuer, are accepted exactly when an
// independent oracle (RFC 7519 §4.1, RFC 9068 §2.2 and the documented options) says they are valid.

type ClaimChoice = { absent: true } | { value: unknown } | { raw: string }

const NOW_MARGIN = 60 // far from every boundary, so the clock tolerance (5 s) and test duration never matter

function timeArb(): fc.Arbitrary<ClaimChoice> {
  const now = () => Math.floor(Date.now() / 1000)
  return fc.oneof(
    fc.record({ past: fc.integer({ min: NOW_MARGIN, max: 1e8 }) }).map(({ past }) => ({ value: now() - past })),
    fc.record({ future: fc.integer({ min: NOW_MARGIN, max: 1e8 }) }).map(({ future }) => ({ value: now() + future })),
    fc.constantFrom<ClaimChoice>({ absent: true }, { value: 0 }, { value: -1 }, { value: 1e300 }, { raw: '1e999' }, { raw: '-1e999' }, { raw: '9'.repeat(40) }),
    fc.record({ value: jsonValueArb }),
  )
}

const stringClaimArb = (valid: string[]): fc.Arbitrary<ClaimChoice> =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...valid).map((value) => ({ value })), weight: 4 },
    { arbitrary: fc.constant({ absent: true as const }), weight: 1 },
    { arbitrary: fc.record({ value: jsonValueArb }), weight: 1 },
  )

const CLAIM_ARBS = {
  iss: fc.oneof(
    { arbitrary: fc.constant({ value: ISSUER }), weight: 6 },
    { arbitrary: fc.constantFrom<ClaimChoice>({ absent: true }, { value: ISSUER.slice(0, -1) }, { value: ISSUER.toUpperCase() }, { value: ` ${ISSUER}` }, { value: [ISSUER] }, { value: 'https://attacker.example/' }), weight: 2 },
    { arbitrary: fc.record({ value: jsonValueArb }), weight: 1 },
  ),
  aud: fc.oneof(
    { arbitrary: fc.constantFrom<ClaimChoice>({ value: AUDIENCE }, { value: [AUDIENCE] }, { value: ['https://other.example', AUDIENCE] }), weight: 6 },
    { arbitrary: fc.constantFrom<ClaimChoice>({ absent: true }, { value: [] }, { value: [AUDIENCE, 1] }, { value: [[AUDIENCE]] }, { value: `${AUDIENCE}/` }, { value: AUDIENCE.toUpperCase() }, { value: { aud: AUDIENCE } }), weight: 2 },
    { arbitrary: fc.record({ value: jsonValueArb }), weight: 1 },
  ),
  exp: fc.oneof({ arbitrary: fc.integer({ min: NOW_MARGIN, max: 1e6 }).map((future): ClaimChoice => ({ value: Math.floor(Date.now() / 1000) + future })), weight: 4 }, { arbitrary: timeArb(), weight: 2 }),
  nbf: fc.oneof({ arbitrary: fc.constant<ClaimChoice>({ absent: true }), weight: 3 }, { arbitrary: timeArb(), weight: 2 }),
  iat: fc.oneof({ arbitrary: fc.constant<ClaimChoice>({ absent: true }), weight: 2 }, { arbitrary: timeArb(), weight: 2 }),
  sub: stringClaimArb(['user-1', '']),
  jti: stringClaimArb(['4f1c', '']),
  client_id: stringClaimArb(['client-1']),
  scope: stringClaimArb(['read:users', '', 'a  b', ' read:users write:users ']),
  scp: fc.oneof(
    { arbitrary: fc.constant<ClaimChoice>({ absent: true }), weight: 3 },
    { arbitrary: fc.constantFrom<ClaimChoice>({ value: ['a', 'b'] }, { value: 'x y' }, { value: [] }, { value: ['a', 1] }, { value: [null] }), weight: 2 },
    { arbitrary: fc.record({ value: jsonValueArb }), weight: 1 },
  ),
} satisfies Record<string, fc.Arbitrary<ClaimChoice>>
type ClaimName = keyof typeof CLAIM_ARBS

const extraClaimsArb = fc.uniqueArray(
  fc.tuple(
    fc.string({ maxLength: 8 }).filter((name) => !Object.hasOwn(CLAIM_ARBS, name) && name !== '__proto__'),
    fc.jsonValue({ maxDepth: 3 }),
  ),
  { maxLength: 3, selector: ([name]) => name },
)

function hasProtoMember(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (Array.isArray(value)) return value.some(hasProtoMember)
  return Object.hasOwn(value, '__proto__') || Object.values(value).some(hasProtoMember)
}

/** The oracle: is this parsed claims set valid for ISSUER/AUDIENCE now, and why not. */
function claimsVerdict(payload: Record<string, unknown>, now: number): { valid: true; scopes: string[] } | { valid: false; codes: ErrorCode[] } {
  const invalid = (...codes: ErrorCode[]) => ({ valid: false as const, codes })
  if (hasProtoMember(payload) || jsonDepth(payload) > MAX_JSON_DEPTH) return invalid('token_malformed')
  const isString = (value: unknown) => value === undefined || typeof value === 'string'
  const isTime = (value: unknown) => value === undefined || (typeof value === 'number' && Number.isFinite(value))
  const isStrings = (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === 'string')
  const { iss, aud, exp, nbf, iat, sub, jti, client_id: clientId, scope, scp } = payload
  const typesOk =
    isString(iss) && isString(sub) && isString(jti) && isString(clientId) && isString(scope) &&
    isTime(exp) && isTime(nbf) && isTime(iat) &&
    (aud === undefined || typeof aud === 'string' || (isStrings(aud) && (aud as string[]).length > 0)) &&
    (scp === undefined || typeof scp === 'string' || isStrings(scp))
  const claimCodes: ErrorCode[] = ['claim_missing', 'claim_invalid', 'token_expired', 'token_not_yet_valid', 'token_issued_in_future', 'issuer_mismatch', 'audience_mismatch']
  if (!typesOk || exp === undefined) return invalid(...claimCodes)
  const audOk = aud === AUDIENCE || (Array.isArray(aud) && aud.includes(AUDIENCE))
  const timesOk = (exp as number) > now && (nbf === undefined || (nbf as number) <= now) && (iat === undefined || (iat as number) <= now)
  if (iss !== ISSUER || !audOk || !timesOk) return invalid(...claimCodes)
  const scopes = new Set<string>()
  for (const source of [scope, scp]) {
    const list = typeof source === 'string' ? source.split(' ') : Array.isArray(source) ? (source as string[]) : []
    for (const item of list) if (item !== '') scopes.add(item)
  }
  return { valid: true, scopes: [...scopes] }
}

describe('property 3b: validly signed claims of any shape are accepted exactly when they are valid', () => {
  it('iss, aud, exp, nbf, iat and the string claims of every type and value', { timeout: TIMEOUT }, async () => {
    // Fast signers only: ES256, EdDSA and HS256 (the mixed verifier accepts all three).
    const signers = POOL.filter((entry) => entry.alg === 'ES256' || entry.alg === 'EdDSA' || entry.alg === 'HS256')
    const cases = fc.record({
      signer: fc.nat({ max: signers.length - 1 }),
      claims: fc.record(CLAIM_ARBS),
      order: fc.array(fc.nat(), { minLength: 16, maxLength: 16 }),
      extra: extraClaimsArb,
    })
    let accepted = 0
    let refused = 0
    await fc.assert(
      fc.asyncProperty(cases, async ({ signer, claims: chosen, order, extra }) => {
        const entry = signers[signer] ?? minted(0)
        const members: string[] = []
        for (const name of Object.keys(chosen) as ClaimName[]) {
          const choice = chosen[name]
          if ('value' in choice) members.push(`${JSON.stringify(name)}:${JSON.stringify(choice.value)}`)
          if ('raw' in choice) members.push(`${JSON.stringify(name)}:${choice.raw}`)
        }
        for (const [name, value] of extra) members.push(`${JSON.stringify(name)}:${JSON.stringify(value)}`)
        const payloadText = `{${reorder(members, order).join(',')}}`
        const token = issuerToken(entry, jsonObjectText(entry.header), payloadText)
        const verdict = claimsVerdict(JSON.parse(payloadText) as Record<string, unknown>, Math.floor(Date.now() / 1000))
        const outcome = await settle(() => VERIFIERS.mixed.verify(token))
        if (verdict.valid) {
          accepted++
          if (outcome.kind === 'rejected') throw new Error(`refused valid claims ${payloadText}: ${describeValue(outcome.error)}`)
          expect({ ...outcome.value.payload }).toEqual(JSON.parse(payloadText))
          expect([...outcome.value.scopes].sort()).toEqual([...verdict.scopes].sort())
        } else {
          refused++
          if (outcome.kind === 'resolved') throw new Error(`accepted invalid claims ${payloadText}:\n  ${token}`)
          assertTypedFailure(outcome.error, ['InvalidTokenError'], token)
          if (!verdict.codes.includes(outcome.error.code)) throw new Error(`refused ${payloadText} with ${outcome.error.code}, expected one of ${verdict.codes.join(', ')}`)
        }
      }),
      runs(1000),
    )
    // Both sides of the oracle were exercised.
    expect(accepted).toBeGreaterThan(0)
    expect(refused).toBeGreaterThan(0)
  })
})

// ---------------------------------------------------------------------------------------------
// Property 4: authenticate resolves only for a valid token carried in exactly one enabled place.

const LOCATION_SETS: readonly (readonly TokenLocation[])[] = [
  ['header'], ['query'], ['body'], ['header', 'query'], ['header', 'body'], ['query', 'body'], ['header', 'query', 'body'],
]
const locationVerifiers = new Map<string, Verifier>()
function verifierFor(locations: readonly TokenLocation[]): Verifier {
  const id = locations.join(',')
  let verifier = locationVerifiers.get(id)
  if (verifier === undefined) {
    verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(...TRUSTED), secret: SECRET, tokenLocations: locations })
    locationVerifiers.set(id, verifier)
  }
  return verifier
}

/** b64token-shaped tokens that must be refused: an attacker's signature, an expired or foreign token. */
const INVALID_TOKENS: readonly string[] = (() => {
  const ec = TRUSTED.find((key) => key.alg === 'ES256') ?? makeKey('ES256')
  const now = Math.floor(Date.now() / 1000)
  const input = (payload: Record<string, unknown>) => `${b64url(JSON.stringify({ alg: 'ES256', kid: ec.kid }))}.${b64url(JSON.stringify(payload))}`
  const signed = (payload: Record<string, unknown>) => `${input(payload)}.${b64url(signAs('ES256', input(payload), ec.privateKey))}`
  const forged = input(claims())
  return [
    `${forged}.${b64url(signAs('ES256', forged, ATTACKER.p256))}`,
    signed(claims({ exp: now - 3600, iat: now - 7200 })),
    signed(claims({ aud: 'https://other.example.com' })),
    `${forged}.${segmentsOf(minted(0).token)[2]}`,
  ]
})()

const validTokenArb = poolIndexArb.map((index) => minted(index).token)
const invalidTokenArb = fc.constantFrom(...INVALID_TOKENS)
const tokenishArb = fc.oneof(validTokenArb, invalidTokenArb, fc.string({ unit: fc.constantFrom(...B64TOKEN_CHARS), maxLength: 40 }))

type Carry = { carry: 'none' } | { carry: 'valid'; token: string } | { carry: 'invalid'; token: string }
const carryArb: fc.Arbitrary<Carry> = fc.oneof(
  { arbitrary: fc.constant({ carry: 'none' as const }), weight: 3 },
  { arbitrary: validTokenArb.map((token) => ({ carry: 'valid' as const, token })), weight: 3 },
  { arbitrary: invalidTokenArb.map((token) => ({ carry: 'invalid' as const, token })), weight: 1 },
)

const FORM = 'application/x-www-form-urlencoded'
const queryNoiseArb = fc.array(
  fc.oneof(
    fc.constantFrom('a=1', 'token=x', 'access=1', 'access_tokens=x', 'accesstoken=x', 'Access_Token=x', 'x=access_token', 'access_token%20=x', '&', '='),
    fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })).map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`),
  ),
  { maxLength: 3 },
)

/**
 * A well-formed request with a known meaning: each place carries nothing, a valid token or an
 * invalid one, among noise that carries no credentials (another auth scheme, other parameters, a
 * body the form location must ignore).
 */
const cleanRequestArb = fc.record({
  header: carryArb,
  query: carryArb,
  body: carryArb,
  locations: fc.constantFrom(...LOCATION_SETS),
  headerForm: fc.constantFrom('lower', 'titled', 'both', 'headers-object', 'raw-headers'),
  scheme: fc.mixedCase(fc.constant('bearer')),
  spaces: fc.integer({ min: 1, max: 3 }),
  otherScheme: fc.option(fc.constantFrom('Basic dXNlcjpwYXNz', 'DPoP eyJhbGciOiJub25lIn0', 'Negotiate abc', 'Bearerx abc'), { nil: undefined }),
  queryNoise: queryNoiseArb,
  encodedName: fc.boolean(),
  method: fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'post'),
  contentType: fc.constantFrom(FORM, `${FORM}; charset=utf-8`, FORM.toUpperCase(), `${FORM} ;charset=UTF-8`),
  ignoredBody: fc.constantFrom('none', 'get', 'head', 'json', 'no-content-type'),
})

type CleanPlan = typeof cleanRequestArb extends fc.Arbitrary<infer T> ? T : never

function buildCleanRequest(plan: CleanPlan): RequestLike {
  const headers: Record<string, string | string[]> = {}
  const setHeader = (name: string, value: string) => {
    headers[plan.headerForm === 'titled' ? name.replace(/(?:^|-)[a-z]/g, (start) => start.toUpperCase()) : name] = value
    if (plan.headerForm === 'both') headers[name.replace(/(?:^|-)[a-z]/g, (start) => start.toUpperCase())] = value
  }
  if (plan.header.carry !== 'none') setHeader('authorization', `${plan.scheme}${' '.repeat(plan.spaces)}${plan.header.token}`)
  else if (plan.otherScheme !== undefined) setHeader('authorization', plan.otherScheme)
  const params = [...plan.queryNoise]
  if (plan.query.carry !== 'none') params.push(`${plan.encodedName ? 'access%5Ftoken' : 'access_token'}=${encodeURIComponent(plan.query.token)}`)
  const url = params.length === 0 ? '/resource' : `/resource?${params.join('&')}`
  let method: string = plan.method
  let body: unknown = { other: 'x' }
  if (plan.body.carry !== 'none') {
    setHeader('content-type', plan.contentType)
    body = { note: 'x', access_token: plan.body.token }
  } else if (plan.ignoredBody !== 'none') {
    // A body with an access_token that is not a form-encoded body of a request with content:
    // RFC 6750 §2.2 makes it no credential at all.
    const anyToken = minted(0).token
    body = { access_token: anyToken }
    if (plan.ignoredBody === 'get' || plan.ignoredBody === 'head') {
      method = plan.ignoredBody.toUpperCase()
      setHeader('content-type', plan.contentType)
    } else if (plan.ignoredBody === 'json') {
      setHeader('content-type', 'application/json')
    }
  }
  if (plan.headerForm === 'headers-object') return { method, url, headers: new Headers(headers as Record<string, string>), body }
  if (plan.headerForm === 'raw-headers') return { method, url, rawHeaders: toRawHeaders(headers), body }
  return { method, url, headers, body }
}

/**
 * A header record as Node's `rawHeaders` would list it, names in title case. A value seen under
 * both spellings of a name is one header (as `headerValues` reads a record).
 */
function toRawHeaders(record: Readonly<Record<string, string | readonly string[] | undefined>>): string[] {
  const raw: string[] = []
  for (const [name, value] of Object.entries(record)) {
    const titled = name.replace(/(?:^|-)[a-z]/g, (start) => start.toUpperCase())
    if (titled === name && record[name.toLowerCase()] === value && name !== name.toLowerCase()) continue
    for (const item of typeof value === 'string' ? [value] : (value ?? [])) raw.push(titled, item)
  }
  return raw
}

type ExpectedAuth = { resolves: string } | { rejects: ErrorClassName; code?: ErrorCode }

function expectedAuthentication(plan: CleanPlan): ExpectedAuth {
  const carriers = (['header', 'query', 'body'] as const).filter((place) => plan[place].carry !== 'none')
  const [only] = carriers
  if (only === undefined) return { rejects: 'MissingTokenError' }
  if (carriers.length > 1) return { rejects: 'InvalidRequestError', code: 'credentials_duplicated' }
  if (!plan.locations.includes(only)) return { rejects: 'MissingTokenError' }
  const carried = plan[only]
  if (carried.carry === 'valid') return { resolves: carried.token }
  return { rejects: 'InvalidTokenError' }
}

// Chaos: any header values (control characters, arrays, both spellings), any URL, method,
// content type and body, including what body parsers produce for nested form fields.

const CONTROL_CHARS = ['\0', '\x01', '\x08', '\t', '\n', '\x0b', '\f', '\r', '\x1b', '\x7f', '\u0085', '\u00a0', '\u2028', '\ufeff']
const headerValueArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: validTokenArb.map((token) => `Bearer ${token}`), weight: 4 },
  {
    arbitrary: fc
      .tuple(fc.string({ unit: fc.constantFrom(' ', '\t', ...CONTROL_CHARS), maxLength: 2 }), fc.mixedCase(fc.constant('bearer')), fc.string({ unit: fc.constantFrom(' ', '\t', ...CONTROL_CHARS), minLength: 1, maxLength: 3 }), tokenishArb, fc.string({ unit: fc.constantFrom(' ', '\t', '=', ...CONTROL_CHARS), maxLength: 2 }))
      .map((parts) => parts.join('')),
    weight: 3,
  },
  { arbitrary: anyStringArb, weight: 2 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...CONTROL_CHARS, 'B', 'e', 'a', 'r', ' ') }), weight: 1 },
  { arbitrary: fc.constantFrom('', ' ', 'Bearer', 'Bearer ', 'bearer\tabc', 'Bearer a b', 'Bearer ==', 'Basic dXNlcjpwYXNz', 'Bearer\u0000x'), weight: 1 },
  { arbitrary: tokenishArb.map((token) => `Bearer ${token}, Bearer ${token}`), weight: 1 },
)
const authorizationArb = fc.oneof(
  { arbitrary: headerValueArb, weight: 4 },
  { arbitrary: fc.array(headerValueArb, { maxLength: 3 }), weight: 1 },
)

const accessTokenParamArb = fc.oneof(
  validTokenArb.map((token) => `access_token=${token}`),
  tokenishArb.map((token) => `access_token=${encodeURIComponent(token)}`),
  validTokenArb.map((token) => `access%5Ftoken=${token}`),
  fc.constantFrom('access_token', 'access_token=', 'access_token[]=x', 'ACCESS_TOKEN=x', 'acces%73_token=x', 'access_token=%', 'access_token=%ZZ'),
)
const urlArb = fc.oneof(
  fc
    .tuple(fc.constantFrom('/', '/resource', 'https://api.example.com/r', '*', ''), fc.array(fc.oneof(accessTokenParamArb, queryNoiseArb.map((noise) => noise.join('&'))), { maxLength: 3 }), fc.constantFrom('', '#frag', '#access_token=x'))
    .map(([path, params, fragment]) => (params.length === 0 ? path : `${path}?${params.join('&')}`) + fragment),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  anyStringArb,
)

/** Form bodies as body parsers make them: strings, arrays, and (qs, `extended`) nested objects. */
const formFieldValueArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: tokenishArb, weight: 4 },
  { arbitrary: fc.array(tokenishArb, { maxLength: 3 }), weight: 1 },
  {
    arbitrary: fc
      .record({
        fields: fc.dictionary(fc.oneof(fc.constantFrom('toString', 'valueOf', '0', 'a'), fc.string({ maxLength: 4 })), fc.string({ maxLength: 4 }), { maxKeys: 2 }),
        nullPrototype: fc.boolean(),
      })
      .map(({ fields, nullPrototype }) => Object.assign(nullPrototype ? (Object.create(null) as object) : {}, fields)),
    weight: 1,
  },
  { arbitrary: anyValueArb, weight: 1 },
)
const bodyArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.record({ access_token: formFieldValueArb, other: fc.string({ maxLength: 4 }) }, { requiredKeys: [] }), weight: 3 },
  { arbitrary: formFieldValueArb.map((value) => Object.assign(Object.create(null) as object, { access_token: value })), weight: 1 },
  { arbitrary: anyValueArb, weight: 2 },
)

const chaosRequestArb = fc.record({
  authorization: fc.option(authorizationArb, { nil: undefined }),
  titledAuthorization: fc.oneof(fc.constant<'absent' | 'same'>('absent'), fc.constant<'absent' | 'same'>('same'), authorizationArb),
  headersForm: fc.constantFrom('record', 'headers-object', 'raw-headers'),
  contentType: fc.option(fc.oneof(fc.constantFrom(FORM, `${FORM}; charset=utf-8`, `${FORM}x`, 'application/json', 'multipart/form-data', ` ${FORM}`), anyStringArb), { nil: undefined }),
  otherHeaders: fc.dictionary(fc.constantFrom('cookie', 'x-access-token', 'x-forwarded-for', 'host'), fc.string({ maxLength: 8 }), { maxKeys: 2 }),
  url: fc.option(urlArb, { nil: undefined }),
  method: fc.option(fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'get', 'head', 'post'), fc.string({ maxLength: 6 })), { nil: undefined }),
  body: fc.option(bodyArb, { nil: undefined }),
  locations: fc.constantFrom(...LOCATION_SETS),
})
type ChaosPlan = typeof chaosRequestArb extends fc.Arbitrary<infer T> ? T : never

/**
 * Always tried first: what Express's `urlencoded({ extended: true })` parser (qs, with
 * `allowPrototypes`) makes of the form body `access_token[toString]=x`, on a verifier that reads
 * only the header.
 */
const EXTENDED_FORM_BODY: ChaosPlan = {
  authorization: undefined,
  titledAuthorization: 'absent',
  headersForm: 'record',
  contentType: FORM,
  otherHeaders: {},
  url: '/resource',
  method: 'POST',
  body: { access_token: { toString: 'x' } },
  locations: ['header'],
}

function buildChaosRequest(plan: ChaosPlan): RequestLike {
  const record: Record<string, string | readonly string[] | undefined> = { ...plan.otherHeaders }
  if (plan.authorization !== undefined) record.authorization = plan.authorization
  if (plan.titledAuthorization === 'same') record.Authorization = plan.authorization
  else if (plan.titledAuthorization !== 'absent') record.Authorization = plan.titledAuthorization
  if (plan.contentType !== undefined) record['content-type'] = plan.contentType
  if (plan.headersForm === 'raw-headers') return { method: plan.method, url: plan.url, rawHeaders: toRawHeaders(record), body: plan.body }
  let headers: RequestLike['headers'] = record
  if (plan.headersForm === 'headers-object') {
    try {
      const object = new Headers()
      for (const [name, value] of Object.entries(record)) {
        for (const item of typeof value === 'string' ? [value] : (value ?? [])) object.append(name, item)
      }
      headers = object
    } catch {
      // Values a Headers object refuses (control characters): keep the plain record.
    }
  }
  return { method: plan.method, url: plan.url, headers, body: plan.body }
}

const asList = (value: string | readonly string[] | null | undefined): readonly string[] =>
  value === undefined || value === null ? [] : typeof value === 'string' ? [value] : value

/**
 * The necessary condition for `authenticate` to resolve with `token`, read off the request itself
 * (RFC 6750 §2): exactly one credential in the whole request — a `Bearer` Authorization value, an
 * `access_token` query parameter, or an `access_token` field of a form-encoded body of a request
 * with content — which is `token` and sits in an enabled place.
 */
function mayResolve(request: RequestLike, locations: readonly TokenLocation[], token: string): string | undefined {
  const headers = request.headers ?? {}
  const valuesOf = (name: string): readonly string[] => {
    const raw = request.rawHeaders
    if (raw !== undefined) return raw.filter((_, i) => i % 2 === 1 && raw[i - 1]?.toLowerCase() === name)
    if (headers instanceof Headers) return asList(headers.get(name))
    const record = headers as Record<string, string | readonly string[] | undefined>
    const lower = record[name]
    const titled = record[name.replace(/(?:^|-)[a-z]/g, (start) => start.toUpperCase())]
    return titled === undefined || titled === lower ? asList(lower) : [...asList(lower), ...asList(titled)]
  }
  const credentials: { place: TokenLocation; carries: boolean }[] = []
  for (const value of valuesOf('authorization')) {
    // A Bearer credential: the auth-scheme `Bearer` (any case) alone or followed by SP or HTAB,
    // once surrounding whitespace is trimmed. Other schemes (`Basic`, `Bearerx`, `bearer\f…`) are not.
    const trimmed = value.trim()
    if (!/^bearer(?:[ \t]|$)/i.test(trimmed)) continue
    credentials.push({ place: 'header', carries: /^bearer +(\S+)$/i.exec(trimmed)?.[1] === token })
  }
  const url = request.url ?? ''
  if (url.includes('?')) {
    for (const value of new URLSearchParams(url.slice(url.indexOf('?') + 1)).getAll('access_token')) {
      credentials.push({ place: 'query', carries: value === token })
    }
  }
  const method = request.method?.toUpperCase()
  const contentType = valuesOf('content-type')[0] ?? ''
  const body = request.body
  if (
    method !== undefined && method !== 'GET' && method !== 'HEAD' &&
    /^application\/x-www-form-urlencoded\s*(?:;|$)/i.test(contentType) &&
    typeof body === 'object' && body !== null && Object.hasOwn(body, 'access_token')
  ) {
    const field: unknown = (body as Record<string, unknown>).access_token
    for (const value of Array.isArray(field) ? (field as unknown[]) : [field]) credentials.push({ place: 'body', carries: value === token })
  }
  const [only] = credentials
  if (credentials.length !== 1 || only === undefined) return `${credentials.length} credentials in the request`
  if (!only.carries) return `the one credential (${only.place}) is not the token`
  if (!locations.includes(only.place)) return `the credential is in the ${only.place}, which is not enabled`
  return undefined
}

describe('property 4: authenticate resolves only for a valid token in exactly one enabled place', () => {
  it('well-formed requests: the exact outcome (resolved, missing, duplicated, disabled place, invalid token)', { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(cleanRequestArb, async (plan) => {
        const request = buildCleanRequest(plan)
        const expected = expectedAuthentication(plan)
        const outcome = await settle(() => verifierFor(plan.locations).authenticate(request))
        if ('resolves' in expected) {
          if (outcome.kind === 'rejected') throw new Error(`refused a valid request: ${describeValue(outcome.error)}`)
          expect(outcome.value.token).toBe(expected.resolves)
          return
        }
        if (outcome.kind === 'resolved') throw new Error(`accepted a request that should fail with ${expected.rejects}: ${outcome.value.token}`)
        assertTypedFailure(outcome.error, [expected.rejects])
        if (expected.code !== undefined) expect(outcome.error.code).toBe(expected.code)
      }),
      runs(1000),
    )
  })

  it('any headers, URL, method and body: resolves only when the request carries one valid token in an enabled place, else a typed error', { timeout: TIMEOUT }, async () => {
    let resolved = 0
    await fc.assert(
      fc.asyncProperty(chaosRequestArb, async (plan) => {
        const request = buildChaosRequest(plan)
        const outcome = await settle(() => verifierFor(plan.locations).authenticate(request))
        if (outcome.kind === 'rejected') {
          assertTypedFailure(outcome.error, ['MissingTokenError', 'InvalidRequestError', 'InvalidTokenError'])
          return
        }
        resolved++
        const { token } = outcome.value
        if (!MINTED.has(token)) throw new Error(`resolved with a token that was never minted: ${token}`)
        const objection = mayResolve(request, plan.locations, token)
        if (objection !== undefined) throw new Error(`resolved although ${objection}`)
      }),
      { ...runs(2000), examples: [[EXTENDED_FORM_BODY]] },
    )
    expect(resolved).toBeGreaterThan(0)
  })
})
