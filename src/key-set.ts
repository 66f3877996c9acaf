import type { Algorithm } from './algorithms.js'
import { importVerificationKey, keyFitsAlgorithm, type KeySkipReason, type VerificationKey } from './keys.js'

/** Why a whole JWK Set document was refused; good keys held before stay in use. */
export type KeySetRejection = 'not_a_key_set' | 'too_many_keys' | 'duplicate_kid' | 'no_usable_keys'

/** Thrown when a JWK Set document cannot serve as a key set. */
export class KeySetRejectedError extends Error {
  constructor(
    readonly rejection: KeySetRejection,
    /** For `no_usable_keys`: why each member was skipped. */
    readonly skipped: readonly KeySkipReason[] = [],
  ) {
    super(`jwk set rejected: ${rejection}${skipped.length > 0 ? ` (${[...new Set(skipped)].join(', ')})` : ''}`)
  }
}

/** Outcome of looking a key up for a token. */
export type KeySelection = VerificationKey | 'unknown_kid' | 'ambiguous' | 'unfit'

/**
 * An immutable, validated set of verification keys: what one JWK Set document yielded. A refresh
 * builds a new one and swaps it in whole, so keys the provider withdrew are gone at once.
 */
export class KeySet {
  private constructor(
    private readonly byKid: ReadonlyMap<string, readonly VerificationKey[]>,
    private readonly all: readonly VerificationKey[],
  ) {}

  /** Number of usable keys. */
  get size(): number {
    return this.all.length
  }

  /**
   * Builds a key set from a parsed JWK Set document (RFC 7517 §5). Members that cannot verify
   * signatures under `allowed` are skipped; the document is refused when it is not a key set, has
   * more than `maxKeys` members, gives the same `kid` to two keys that fit one algorithm, or leaves
   * no usable key.
   */
  static async fromDocument(document: unknown, allowed: ReadonlySet<Algorithm>, maxKeys: number): Promise<KeySet> {
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw new KeySetRejectedError('not_a_key_set')
    }
    const members: unknown = (document as Record<string, unknown>).keys
    if (!Array.isArray(members)) throw new KeySetRejectedError('not_a_key_set')
    if (members.length > maxKeys) throw new KeySetRejectedError('too_many_keys')
    const imported = await Promise.all(members.map((member) => importVerificationKey(member, allowed)))
    const keys = imported.filter((entry): entry is VerificationKey => typeof entry !== 'string')
    if (keys.length === 0) {
      throw new KeySetRejectedError('no_usable_keys', imported.filter((entry): entry is KeySkipReason => typeof entry === 'string'))
    }
    // RFC 7517 §4.5: keys may share a kid when they are alternatives of different types (and a
    // signing key may share one with an encryption key, which is skipped above). Two keys that
    // could verify the same algorithm may not: a token could not say which one signed it.
    const byKid = new Map<string, VerificationKey[]>()
    for (const key of keys) {
      if (key.kid === undefined) continue
      const sharing = byKid.get(key.kid) ?? []
      if (sharing.some((other) => [...allowed].some((alg) => keyFitsAlgorithm(key, alg) && keyFitsAlgorithm(other, alg)))) {
        throw new KeySetRejectedError('duplicate_kid')
      }
      byKid.set(key.kid, [...sharing, key])
    }
    return new KeySet(byKid, keys)
  }

  /**
   * The key to verify a token with header `kid` and `alg`. With a `kid`, the key of that id that
   * fits `alg`. Without one, the single key that fits `alg`; two or more is `ambiguous`.
   */
  select(kid: string | undefined, alg: Algorithm): KeySelection {
    if (kid !== undefined) {
      const keys = this.byKid.get(kid)
      if (keys === undefined) return 'unknown_kid'
      return keys.find((key) => keyFitsAlgorithm(key, alg)) ?? 'unfit'
    }
    let found: VerificationKey | undefined
    for (const key of this.all) {
      if (!keyFitsAlgorithm(key, alg)) continue
      if (found !== undefined) return 'ambiguous'
      found = key
    }
    return found ?? 'unknown_kid'
  }
}
