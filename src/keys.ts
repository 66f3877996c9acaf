import { KeyObject } from 'node:crypto'
import { importJWK, type JWK } from 'jose'
import { algorithmSpec, isAlgorithm, type Algorithm, type AsymmetricAlgorithm } from './algorithms.js'

/** A verification key from a JWK Set, imported once and kept as a node:crypto `KeyObject`. */
export interface VerificationKey {
  /** JWK `kid`, if the key has one. */
  readonly kid: string | undefined
  /** JWK `kty`. */
  readonly kty: 'RSA' | 'EC' | 'OKP'
  /** JWK `crv` (EC, OKP). */
  readonly crv: string | undefined
  /** JWK `alg`, if the key is pinned to one algorithm. */
  readonly alg: AsymmetricAlgorithm | undefined
  /** The public key, ready for `crypto.verify`. */
  readonly keyObject: KeyObject
  /** The key's SPKI encoding (base64): tells whether a refetched key is the same key. */
  readonly fingerprint: string
}

/** Why a JWK was not taken into a key set. */
export type KeySkipReason =
  | 'not_an_object'
  | 'unsupported_kty'
  | 'symmetric_key'
  | 'private_key'
  | 'not_for_signatures'
  | 'algorithm_not_allowed'
  | 'kid_not_a_string'
  | 'rsa_key_too_short'
  | 'unsupported_curve'
  | 'import_failed'

/** Smallest RSA modulus accepted, in bits (NIST SP 800-131A; RFC 7518 §3.3 says 2048 or larger). */
export const MIN_RSA_MODULUS_BITS = 2048

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/** Algorithm used only to let jose import a JWK that names none; it does not bind the key. */
function importAlgorithmFor(kty: string, crv: unknown): AsymmetricAlgorithm | undefined {
  if (kty === 'RSA') return 'RS256'
  if (kty === 'OKP') return crv === 'Ed25519' ? 'EdDSA' : undefined
  if (kty === 'EC') {
    if (crv === 'P-256') return 'ES256'
    if (crv === 'P-384') return 'ES384'
    if (crv === 'P-521') return 'ES512'
  }
  return undefined
}

/** True when the JWK's `use` and `key_ops` (RFC 7517 §4.2, §4.3) allow verifying signatures. */
function allowsVerification(jwk: Record<string, unknown>): boolean {
  if (jwk.use !== undefined && jwk.use !== 'sig') return false
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return false
  return true
}

/** What {@link screenJwk} lets through: a JWK member worth importing, and how to import it. */
interface ScreenedJwk {
  member: Record<string, unknown>
  kty: 'RSA' | 'EC' | 'OKP'
  importAs: AsymmetricAlgorithm
}

/**
 * The checks of a JWK Set member that need no cryptography: a public asymmetric key meant for
 * signatures, of an allowed algorithm and a supported curve. Returns why not, or the member.
 */
export function screenJwk(jwk: unknown, allowed: ReadonlySet<Algorithm>): ScreenedJwk | KeySkipReason {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'not_an_object'
  const member = jwk as Record<string, unknown>
  const { kty, crv, kid, alg } = member
  if (kty === 'oct') return 'symmetric_key'
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') return 'unsupported_kty'
  if (PRIVATE_MEMBERS.some((name) => member[name] !== undefined)) return 'private_key'
  if (!allowsVerification(member)) return 'not_for_signatures'
  if (kid !== undefined && typeof kid !== 'string') return 'kid_not_a_string'
  if (alg !== undefined && !(isAlgorithm(alg) && allowed.has(alg) && algorithmSpec(alg).kty === kty)) {
    return 'algorithm_not_allowed'
  }
  const importAs = importAlgorithmFor(kty, crv)
  if (importAs === undefined) return 'unsupported_curve'
  return { member, kty, importAs }
}

/**
 * Imports one member of a JWK Set as a verification key, or says why it cannot serve. Only public
 * asymmetric keys meant for signatures, of an allowed algorithm, with a supported curve and (RSA) a
 * modulus of at least {@link MIN_RSA_MODULUS_BITS} bits are taken. Symmetric (`oct`) keys never are:
 * HMAC keys come only from the `secret` option.
 */
export async function importVerificationKey(
  jwk: unknown,
  allowed: ReadonlySet<Algorithm>,
): Promise<VerificationKey | KeySkipReason> {
  const screened = screenJwk(jwk, allowed)
  if (typeof screened === 'string') return screened
  const { member, kty, importAs } = screened
  const { crv, kid, alg } = member
  let keyObject: KeyObject
  try {
    const imported = await importJWK({ ...(member as JWK), alg: importAs, ext: true, key_ops: undefined, use: undefined }, importAs)
    if (imported instanceof Uint8Array) return 'import_failed'
    keyObject = KeyObject.from(imported)
  } catch {
    return 'import_failed'
  }
  if (keyObject.type !== 'public') return 'private_key'
  if (kty === 'RSA' && (keyObject.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_MODULUS_BITS) {
    return 'rsa_key_too_short'
  }
  return {
    kid: kid as string | undefined,
    kty,
    crv: typeof crv === 'string' ? crv : undefined,
    alg: alg as AsymmetricAlgorithm | undefined,
    keyObject,
    fingerprint: keyObject.export({ format: 'der', type: 'spki' }).toString('base64'),
  }
}

/** True when `key` may verify a signature made with `alg` (kty, curve and any pinned `alg` agree). */
export function keyFitsAlgorithm(key: VerificationKey, alg: Algorithm): boolean {
  const spec = algorithmSpec(alg)
  if (spec.kty !== key.kty) return false
  if (key.alg !== undefined && key.alg !== alg) return false
  if (spec.curves !== undefined && (key.crv === undefined || !spec.curves.includes(key.crv))) return false
  return true
}
