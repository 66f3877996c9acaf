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

/** Characters at the token's end (its signature) that make up the cache index, 7 bits each. */
const INDEX_CHARACTERS = 7

/**
 * The cache index of a token: its last {@link INDEX_CHARACTERS} characters folded into one integer
 * (49 bits, so exact). A number hashes at no cost, where a fresh ~1 KB string (or a slice of it)
 * would be hashed on every lookup. Signature bits are random, so unrelated tokens rarely share an
 * index; when they do, the whole-token comparison makes it a miss.
 */
function cacheIndex(token: string): number {
  let index = 0
  for (let i = Math.max(0, token.length - INDEX_CHARACTERS); i < token.length; i++) index = index * 128 + (token.charCodeAt(i) & 0x7f)
  return index
}

/**
 * Verified tokens, bounded by count (least recently used go first). Only successes are stored, so
 * no failure can turn into a success; an entry is served only for the exact same token text, before
 * its expiry and while its key is still published.
 */
export class VerifiedTokenCache {
  private readonly entries: LRUCache<number, CachedVerification>

  constructor(maxEntries: number) {
    this.entries = new LRUCache({ max: maxEntries })
  }

  get(token: unknown, now: number): VerifiedToken | undefined {
    if (typeof token !== 'string') return undefined
    const entry = this.entries.get(cacheIndex(token))
    if (entry === undefined || entry.result.token !== token) return undefined
    if (now >= entry.expiresAt || !entry.keyStillCurrent()) {
      this.entries.delete(cacheIndex(token))
      return undefined
    }
    return entry.result
  }

  set(token: string, entry: CachedVerification): void {
    this.entries.set(cacheIndex(token), entry)
  }
}
