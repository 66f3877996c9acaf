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

/**
 * Verified tokens by their exact text, bounded by count (least recently used go first). Only
 * successes are stored, so no failure can turn into a success; an entry is served only before its
 * expiry and while its key is still published.
 */
export class VerifiedTokenCache {
  private readonly entries: LRUCache<string, CachedVerification>

  constructor(maxEntries: number) {
    this.entries = new LRUCache({ max: maxEntries })
  }

  get(token: string, now: number): VerifiedToken | undefined {
    const entry = this.entries.get(token)
    if (entry === undefined) return undefined
    if (now >= entry.expiresAt || !entry.keyStillCurrent()) {
      this.entries.delete(token)
      return undefined
    }
    return entry.result
  }

  set(token: string, entry: CachedVerification): void {
    this.entries.set(token, entry)
  }
}
