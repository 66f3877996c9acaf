import { constants, createHmac, timingSafeEqual, verify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto'

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

type Digest = 'sha256' | 'sha384' | 'sha512'

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
  /** Digest for node:crypto; `null` for EdDSA, which hashes internally. */
  digest: Digest | null
  /** The key as `crypto.verify` takes it for this algorithm (asymmetric only). */
  keyInput: (key: KeyObject) => KeyObject | VerifyKeyObjectInput
}

const asIs = (key: KeyObject) => key

function rsaPkcs1(digest: Digest): AlgorithmSpec {
  return { kty: 'RSA', digest, keyInput: asIs }
}

function rsaPss(digest: Digest): AlgorithmSpec {
  // RFC 7518 §3.5: the salt is as long as the digest; AUTO would also accept other lengths.
  return { kty: 'RSA', digest, keyInput: (key) => ({ key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }) }
}

function ecdsa(digest: Digest, curve: string, signatureLength: number): AlgorithmSpec {
  return { kty: 'EC', curves: [curve], signatureLength, digest, keyInput: (key) => ({ key, dsaEncoding: 'ieee-p1363' }) }
}

function hmac(digest: Digest, digestBytes: number): AlgorithmSpec {
  // RFC 7518 §3.2: a key at least as long as the hash output.
  return { kty: 'oct', signatureLength: digestBytes, minSecretBytes: digestBytes, digest, keyInput: asIs }
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
  // Ed448 is not offered: jose imports only Ed25519 keys for EdDSA.
  EdDSA: { kty: 'OKP', curves: ['Ed25519'], digest: null, keyInput: asIs },
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

/** False when the signature cannot be right whatever the key: the wrong length for `alg`. */
function hasPlausibleLength(spec: AlgorithmSpec, signature: Buffer): boolean {
  return spec.signatureLength === undefined || signature.length === spec.signatureLength
}

function hmacMatches(spec: AlgorithmSpec, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  return timingSafeEqual(createHmac(spec.digest as Digest, key).update(data).digest(), signature)
}

/**
 * Verifies `signature` over `data` with `key` under `alg`, on this thread. The caller has already
 * checked that the key fits the algorithm. Returns false, never throws, for a signature of the
 * wrong shape.
 */
export function verifySignature(alg: Algorithm, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  const spec = SPECS[alg]
  if (!hasPlausibleLength(spec, signature)) return false
  try {
    if (spec.kty === 'oct') return hmacMatches(spec, data, key, signature)
    return verify(spec.digest, data, spec.keyInput(key), signature)
  } catch {
    return false
  }
}

/**
 * Like {@link verifySignature}, but an asymmetric check runs on libuv's thread pool, so the event
 * loop stays free and several checks use several cores. HMAC stays on this thread (it is cheap).
 * Resolves false, never rejects, for a bad signature.
 */
export function verifySignatureOffThread(alg: Algorithm, data: Buffer, key: KeyObject, signature: Buffer): Promise<boolean> {
  const spec = SPECS[alg]
  if (spec.kty === 'oct' || !hasPlausibleLength(spec, signature)) return Promise.resolve(verifySignature(alg, data, key, signature))
  return new Promise((resolve) => {
    try {
      verify(spec.digest, data, spec.keyInput(key), signature, (error, valid) => resolve(error === null && valid))
    } catch {
      resolve(false)
    }
  })
}
