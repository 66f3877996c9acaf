import { LRUCache } from 'lru-cache'
import type { VerifiedToken } from './verifier.js'

/** A verified token kept for reuse, with what must still hold for it to be served again. */
export interface CachedVerification {
  result: VerifiedToken
  /** Wall-clock time (ms) at which the entry dies: never later than the token's `exp`. */
  expiresAt: number
  /** True while the key that verified the token is still in its current, fresh key set. */
  keyStillCurrent: () => boolean
}

/** Characters of a token's end (its signature) that index the cache. */
const KEY_LENGTH = 32

/**
 * Verified tokens, bounded by count (least recently used go first). Only successes are stored, so
 * no failure can turn into a success; an entry is served only for the exact same token text, before
 * its expiry and while its key is still published.
 *
 * Entries are indexed by the token's last characters (signature bits, in effect random) rather than
 * the whole token: hashing a fresh ~1 KB string on every lookup would cost most of a hit. A hit
 * still requires the whole token to be equal, so another token ending the same way is just a miss
 * and is verified in full.
 */
export class VerifiedTokenCache {
  private readonly entries: LRUCache<string, CachedVerification>

  constructor(maxEntries: number) {
    this.entries = new LRUCache({ max: maxEntries })
  }

  get(token: unknown, now: number): VerifiedToken | undefined {
    if (typeof token !== 'string') return undefined
    const entry = this.entries.get(token.slice(-KEY_LENGTH))
    if (entry === undefined || entry.result.token !== token) return undefined
    if (now >= entry.expiresAt || !entry.keyStillCurrent()) {
      this.entries.delete(token.slice(-KEY_LENGTH))
      return undefined
    }
    return entry.result
  }

  set(token: string, entry: CachedVerification): void {
    this.entries.set(token.slice(-KEY_LENGTH), entry)
  }
}
