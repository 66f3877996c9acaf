/**
 * Keys and tokens for the soak test: signing keys as an authorization server would hold them, and
 * pools of tokens minted up front (so the load generator spends its time sending, not signing).
 * Deliberately independent of test/helpers.ts, which others edit.
 */
import { constants, createHmac, generateKeyPair, randomUUID, sign, type KeyObject } from 'node:crypto'

export type SigningAlgorithm = 'ES256' | 'ES384' | 'RS256' | 'PS256' | 'EdDSA'

export const ISSUER = 'https://issuer.soak.example/'
export const AUDIENCE = 'https://api.soak.example'
/** The scope the guarded route requires. */
export const REQUIRED_SCOPE = 'read:users'

/** A signing key and its public JWK (with `kid`, `alg`, `use: "sig"`), as a provider publishes it. */
export interface SoakKey {
  kid: string
  alg: SigningAlgorithm
  privateKey: KeyObject
  jwk: Readonly<Record<string, unknown>>
}

type KeyPair = { publicKey: KeyObject; privateKey: KeyObject }

function keyPair(alg: SigningAlgorithm): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, publicKey: KeyObject, privateKey: KeyObject) => {
      if (error) reject(error)
      else resolve({ publicKey, privateKey })
    }
    switch (alg) {
      case 'RS256':
      case 'PS256':
        generateKeyPair('rsa', { modulusLength: 2048 }, done)
        break
      case 'ES256':
        generateKeyPair('ec', { namedCurve: 'P-256' }, done)
        break
      case 'ES384':
        generateKeyPair('ec', { namedCurve: 'P-384' }, done)
        break
      case 'EdDSA':
        generateKeyPair('ed25519', undefined, done)
        break
    }
  })
}

/** A fresh key pair (generated on the libuv pool, so it never blocks the event loop). */
export async function createKey(alg: SigningAlgorithm, kid: string): Promise<SoakKey> {
  const { publicKey, privateKey } = await keyPair(alg)
  const jwk = Object.freeze({ ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' })
  return { kid, alg, privateKey, jwk }
}

export function b64url(input: string | Uint8Array): string {
  return Buffer.from(input).toString('base64url')
}

function signRaw(alg: SigningAlgorithm, signingInput: string, key: KeyObject): Buffer {
  const data = Buffer.from(signingInput)
  switch (alg) {
    case 'EdDSA':
      return sign(null, data, key)
    case 'PS256':
      return sign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
    case 'RS256':
      return sign('sha256', data, key)
    case 'ES256':
      return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })
    case 'ES384':
      return sign('sha384', data, { key, dsaEncoding: 'ieee-p1363' })
  }
}

/** Signs raw header and payload JSON texts with `key` under the key's own algorithm. */
export function signCompact(key: SoakKey, headerJson: string, payloadJson: string): string {
  const signingInput = `${b64url(headerJson)}.${b64url(payloadJson)}`
  return `${signingInput}.${b64url(signRaw(key.alg, signingInput, key.privateKey))}`
}

/** A token signed by `key`, header `{ alg, kid, typ: 'at+jwt' }` with `header` merged over it. */
export function mint(key: SoakKey, claims: object, header: object = {}): string {
  return signCompact(key, JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }), JSON.stringify(claims))
}

/** Claims of a token this API must accept (until `validUntil`, seconds since the epoch). */
export function validClaims(nowSeconds: number, validUntil: number, overrides: object = {}): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: `user-${randomUUID().slice(0, 8)}`,
    client_id: 'soak-client',
    iat: nowSeconds - 1,
    exp: validUntil,
    jti: randomUUID(),
    scope: REQUIRED_SCOPE,
    ...overrides,
  }
}

function segments(token: string): [string, string, string] {
  const [header = '', payload = '', signature = ''] = token.split('.')
  return [header, payload, signature]
}

function decodeJson(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** Token pools for one key, all minted when the key is made. */
export interface KeyTokens {
  /** Must be accepted on the guarded route (while the key is published and fetchable). */
  valid: string[]
  expired: string[]
  wrongAudience: string[]
  wrongIssuer: string[]
  /** Valid, but without the route's scope: 403 (or 401 while the key cannot be had). */
  wrongScope: string[]
  /** Payload (or header) changed after signing; the signature is the original one. */
  tampered: string[]
  badSignature: string[]
  /** `alg: none` in its spellings, and HS256 "signed" with the public key (algorithm confusion). */
  algNone: string[]
  /** Signed properly by this key, but with a header or claims the README says are refused. */
  crafted: string[]
}

/** Mints every pool for `key`; `validUntil` (epoch seconds) must outlast the run. */
export function mintTokens(key: SoakKey, nowSeconds: number, validUntil: number): KeyTokens {
  const valid: string[] = []
  for (let i = 0; i < 12; i++) {
    const overrides =
      i % 4 === 1 ? { scope: `${REQUIRED_SCOPE} write:users` } : i % 4 === 2 ? { scope: undefined, scp: [REQUIRED_SCOPE, 'profile'] } : {}
    const header = i % 3 === 1 ? { typ: 'JWT' } : i % 3 === 2 ? { typ: undefined } : {}
    valid.push(mint(key, validClaims(nowSeconds, validUntil, overrides), header))
  }
  // JSON.stringify drops members set to undefined, so the overrides above remove `scope` / `typ`.

  const expired = [
    mint(key, validClaims(nowSeconds - 7200, nowSeconds - 3600)),
    mint(key, validClaims(nowSeconds - 600, nowSeconds - 60)),
    mint(key, validClaims(nowSeconds - 600, 1)),
  ]
  const wrongAudience = [
    mint(key, validClaims(nowSeconds, validUntil, { aud: 'https://other-api.soak.example' })),
    mint(key, validClaims(nowSeconds, validUntil, { aud: ['https://other-api.soak.example', 'https://third.soak.example'] })),
    mint(key, validClaims(nowSeconds, validUntil, { aud: `${AUDIENCE}/` })),
  ]
  const wrongIssuer = [
    mint(key, validClaims(nowSeconds, validUntil, { iss: 'https://evil.soak.example/' })),
    mint(key, validClaims(nowSeconds, validUntil, { iss: ISSUER.slice(0, -1) })),
  ]
  const wrongScope = [
    mint(key, validClaims(nowSeconds, validUntil, { scope: 'write:users' })),
    mint(key, validClaims(nowSeconds, validUntil, { scope: 'READ:USERS read:user' })),
    mint(key, validClaims(nowSeconds, validUntil, { scope: undefined })),
  ]

  const tampered: string[] = []
  for (const [index, source] of [valid[0], wrongScope[0], wrongAudience[0], expired[0]].entries()) {
    if (source === undefined) continue
    const [header, payload, signature] = segments(source)
    const claims = decodeJson(payload)
    if (index === 0) claims.sub = 'admin'
    if (index === 1) claims.scope = REQUIRED_SCOPE // privilege escalation
    if (index === 2) claims.aud = AUDIENCE // retargeting a token meant for another API
    if (index === 3) claims.exp = validUntil // extending an expired token
    tampered.push(`${header}.${b64url(JSON.stringify(claims))}.${signature}`)
  }
  {
    // Header tampering: same payload and signature, typ changed.
    const [, payload, signature] = segments(valid[0] ?? '')
    tampered.push(`${b64url(JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'JWT' }))}.${payload}.${signature}`)
  }

  const badSignature: string[] = []
  {
    const [header, payload, signature] = segments(valid[0] ?? '')
    const bytes = Buffer.from(signature, 'base64url')
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x01
    badSignature.push(`${header}.${payload}.${b64url(bytes)}`)
    // The signature of another token by the same key.
    badSignature.push(`${header}.${payload}.${segments(valid[1] ?? '')[2]}`)
    // Truncated, and empty.
    badSignature.push(`${header}.${payload}.${b64url(bytes.subarray(0, bytes.length - 1))}`)
    badSignature.push(`${header}.${payload}.`)
  }

  const claims = JSON.stringify(validClaims(nowSeconds, validUntil))
  const algNone = ['none', 'None', 'NONE'].flatMap((alg) => [
    `${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(claims)}.`,
    `${b64url(JSON.stringify({ alg, kid: key.kid }))}.${b64url(claims)}.`,
  ])
  {
    // Algorithm confusion: HS256 with the public key as the HMAC secret.
    const input = `${b64url(JSON.stringify({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' }))}.${b64url(claims)}`
    const secret = JSON.stringify(key.jwk)
    algNone.push(`${input}.${b64url(createHmac('sha256', secret).update(input).digest())}`)
  }

  const base = validClaims(nowSeconds, validUntil)
  const headerOf = (extra: object) => JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...extra })
  const deep = `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`
  const crafted = [
    mint(key, base, { crit: ['exp'] }),
    mint(key, base, { b64: false, crit: ['b64'] }),
    mint(key, base, { typ: 'dpop+jwt' }),
    mint(key, base, { kid: 123 }),
    mint(key, { ...base, exp: String(validUntil) }),
    mint(key, { ...base, exp: undefined }),
    mint(key, { ...base, nbf: validUntil - 60 }),
    mint(key, { ...base, iat: validUntil - 60 }),
    mint(key, { ...base, iss: [ISSUER] }),
    mint(key, { ...base, aud: 42 }),
    // Duplicate member: a lenient parser would take the second `aud`.
    signCompact(key, headerOf({}), JSON.stringify({ ...base, aud: 'https://other-api.soak.example' }).replace(/}$/, `,"aud":"${AUDIENCE}"}`)),
    signCompact(key, headerOf({}), JSON.stringify(base).replace(/^{/, '{"__proto__":{"admin":true},')),
    signCompact(key, headerOf({}), JSON.stringify(base).replace(/}$/, `,"deep":${deep}}`)),
    signCompact(key, headerOf({}), `[${claims}]`),
  ]

  return { valid, expired, wrongAudience, wrongIssuer, wrongScope, tampered, badSignature, algNone, crafted }
}
