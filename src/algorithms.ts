import { constants, createHmac, timingSafeEqual, verify, type KeyObject } from 'node:crypto'

/** Asymmetric JWS algorithms bearer-guard verifies with keys from a JWK Set. */
export type AsymmetricAlgorithm =
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512'
  | 'EdDSA'

/** HMAC JWS algorithms, verified only with the configured `secret`. */
export type SymmetricAlgorithm = 'HS256' | 'HS384' | 'HS512'

/** Every JWS algorithm bearer-guard can verify. `none` is not one of them. */
export type Algorithm = AsymmetricAlgorithm | SymmetricAlgorithm

/** Default allow-list: every asymmetric algorithm (no HMAC, never `none`). */
export const DEFAULT_ALGORITHMS: readonly AsymmetricAlgorithm[] = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA',
]

export const HMAC_ALGORITHMS: readonly SymmetricAlgorithm[] = ['HS256', 'HS384', 'HS512']

/** What an algorithm needs of a key, and how to check a signature with it. */
interface AlgorithmSpec {
  /** JWK `kty` the key must have. */
  kty: 'RSA' | 'EC' | 'OKP' | 'oct'
  /** JWK `crv` values allowed (EC, OKP). */
  curves?: readonly string[]
  /** Exact signature length in bytes where the algorithm fixes one. */
  signatureLength?: number
  /** Minimum key length in bytes for HMAC (RFC 7518 §3.2). */
  minSecretBytes?: number
  verify: (data: Buffer, key: KeyObject, signature: Buffer) => boolean
}

function rsaPkcs1(hash: 'sha256' | 'sha384' | 'sha512'): AlgorithmSpec {
  return { kty: 'RSA', verify: (data, key, signature) => verify(hash, data, key, signature) }
}

function rsaPss(hash: 'sha256' | 'sha384' | 'sha512'): AlgorithmSpec {
  return {
    kty: 'RSA',
    // RFC 7518 §3.5: the salt is as long as the digest; AUTO would also accept other lengths.
    verify: (data, key, signature) =>
      verify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature),
  }
}

function ecdsa(hash: 'sha256' | 'sha384' | 'sha512', curve: string, signatureLength: number): AlgorithmSpec {
  return {
    kty: 'EC',
    curves: [curve],
    signatureLength,
    verify: (data, key, signature) => verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature),
  }
}

function hmac(hash: 'sha256' | 'sha384' | 'sha512', digestBytes: number): AlgorithmSpec {
  return {
    kty: 'oct',
    signatureLength: digestBytes,
    // RFC 7518 §3.2: a key at least as long as the hash output.
    minSecretBytes: digestBytes,
    verify: (data, key, signature) => timingSafeEqual(createHmac(hash, key).update(data).digest(), signature),
  }
}

const SPECS: Readonly<Record<Algorithm, AlgorithmSpec>> = {
  RS256: rsaPkcs1('sha256'),
  RS384: rsaPkcs1('sha384'),
  RS512: rsaPkcs1('sha512'),
  PS256: rsaPss('sha256'),
  PS384: rsaPss('sha384'),
  PS512: rsaPss('sha512'),
  ES256: ecdsa('sha256', 'P-256', 64),
  ES384: ecdsa('sha384', 'P-384', 96),
  ES512: ecdsa('sha512', 'P-521', 132),
  EdDSA: {
    kty: 'OKP',
    // Ed448 is not offered: jose imports only Ed25519 keys for EdDSA.
    curves: ['Ed25519'],
    verify: (data, key, signature) => verify(null, data, key, signature),
  },
  HS256: hmac('sha256', 32),
  HS384: hmac('sha384', 48),
  HS512: hmac('sha512', 64),
}

/** True for a name bearer-guard can verify (case-sensitive, as RFC 7515 requires). */
export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === 'string' && Object.hasOwn(SPECS, value)
}

export function isHmacAlgorithm(alg: Algorithm): alg is SymmetricAlgorithm {
  return SPECS[alg].kty === 'oct'
}

export function algorithmSpec(alg: Algorithm): Readonly<AlgorithmSpec> {
  return SPECS[alg]
}

/**
 * Verifies `signature` over `data` with `key` under `alg`. The caller has already checked that the
 * key fits the algorithm. Returns false, never throws, for a signature of the wrong shape.
 */
export function verifySignature(alg: Algorithm, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  const spec = SPECS[alg]
  if (spec.signatureLength !== undefined && signature.length !== spec.signatureLength) return false
  try {
    return spec.verify(data, key, signature)
  } catch {
    return false
  }
}
