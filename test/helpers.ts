import { constants, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'
import type { Algorithm, AsymmetricAlgorithm } from '../src/index.js'

/** A signing key made for a test, with its public JWK as a provider would publish it. */
export interface TestKey {
  alg: AsymmetricAlgorithm
  kid: string
  privateKey: KeyObject
  publicKey: KeyObject
  /** Public JWK with `kid`, `alg` and `use: "sig"`. */
  jwk: Record<string, unknown>
}

export const ISSUER = 'https://issuer.example.com/'
export const AUDIENCE = 'https://api.example.com'

function generate(alg: AsymmetricAlgorithm) {
  switch (alg) {
    case 'RS256':
    case 'RS384':
    case 'RS512':
    case 'PS256':
    case 'PS384':
    case 'PS512':
      return generateKeyPairSync('rsa', { modulusLength: 2048 })
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' })
    case 'ES384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' })
    case 'ES512':
      return generateKeyPairSync('ec', { namedCurve: 'P-521' })
    case 'EdDSA':
      return generateKeyPairSync('ed25519')
  }
}

const keyCache = new Map<string, TestKey>()

/** A key for `alg`; the same `kid` gives the same key within a test file (RSA generation is slow). */
export function makeKey(alg: AsymmetricAlgorithm, kid = `${alg.toLowerCase()}-key`): TestKey {
  const cached = keyCache.get(`${alg}/${kid}`)
  if (cached !== undefined) return cached
  const { privateKey, publicKey } = generate(alg)
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' }
  const key = { alg, kid, privateKey, publicKey, jwk }
  keyCache.set(`${alg}/${kid}`, key)
  return key
}

/** A JWK Set document of the given keys. */
export function jwksOf(...keys: TestKey[]): { keys: Record<string, unknown>[] } {
  return { keys: keys.map((key) => key.jwk) }
}

export function b64url(input: string | Uint8Array): string {
  return Buffer.from(input).toString('base64url')
}

/** Signs `signingInput` with `key` under `alg`, exactly as RFC 7518 prescribes. */
export function signRaw(alg: Algorithm, signingInput: string, key: KeyObject): Buffer {
  const data = Buffer.from(signingInput)
  const hash = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`
  if (alg.startsWith('PS')) {
    return sign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
  }
  if (alg.startsWith('ES')) return sign(hash, data, { key, dsaEncoding: 'ieee-p1363' })
  return sign(hash, data, key)
}

/** Claims of a valid access token for {@link ISSUER} and {@link AUDIENCE}, valid for 5 minutes. */
export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    client_id: 'client-1',
    iat: now,
    exp: now + 300,
    jti: randomUUID(),
    scope: 'read:users',
    ...overrides,
  }
}

export interface SignOptions {
  /** Header members merged over `{ alg, kid, typ: 'at+jwt' }`; `undefined` removes a member. */
  header?: Record<string, unknown>
  /** Raw header JSON text, used as is instead of `header`. */
  rawHeader?: string
  /** Raw payload JSON text, used as is instead of the claims. */
  rawPayload?: string
}

/** Signs a token with `key` under the key's own algorithm, whatever the header says; claims default to {@link claims}(). */
export function signToken(key: TestKey, payload: Record<string, unknown> = claims(), options: SignOptions = {}): string {
  const header = options.rawHeader ?? JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...options.header })
  const body = options.rawPayload ?? JSON.stringify(payload)
  const signingInput = `${b64url(header)}.${b64url(body)}`
  return `${signingInput}.${b64url(signRaw(key.alg, signingInput, key.privateKey))}`
}
