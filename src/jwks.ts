import type { Algorithm } from './algorithms.js'
import { fetchJsonDocument, type FetchFunction, type FetchLimits } from './http.js'
import { KeySet, type KeySelection } from './key-set.js'
import type { VerificationKey } from './keys.js'

/** Settings of a {@link RemoteKeySet}; all durations in milliseconds. */
export interface RemoteKeySetSettings {
  allowed: ReadonlySet<Algorithm>
  maxKeys: number
  /** A fetched set is fresh at most this long (and this long when the response sets no `max-age`). */
  maxAgeMs: number
  /** A fetched set is fresh at least this long, whatever the response's `Cache-Control` says. */
  minAgeMs: number
  /** At most one refetch for an unknown `kid` per this window. */
  cooldownMs: number
  /** Past `maxAgeMs`, how long the last good set keeps serving while refreshes fail. */
  staleMaxAgeMs: number
  limits: FetchLimits
  fetch: FetchFunction
  /** Clock for the set's age (freshness, stale window), in ms: see `agingClock`. */
  ageClock: () => number
  /** Clock for the unknown-`kid` cooldown and the failure back-off, in ms: see `monotonicMs`. */
  rateClock: () => number
}

/** Start refreshing in the background once a set has lived this share of its max age. */
const BACKGROUND_REFRESH_AT = 0.8
const FIRST_BACKOFF_MS = 1_000

/** No usable key set: none was ever fetched, or the last good one is past its stale window. */
export class KeySetUnavailable {
  constructor(
    /** The last fetch failure. */
    readonly cause: unknown,
  ) {}
}

/** What a key lookup yields: a key, a reason there is none, or an unavailable key set. */
export type KeyLookup = KeySelection | KeySetUnavailable

/** Where a verifier gets its keys: a remote JWKS, or a static set. */
export interface KeySource {
  /** Synchronous fast path: a key when one is at hand without I/O, else undefined. */
  peek(kid: string | undefined, alg: Algorithm): VerificationKey | undefined
  /** The full lookup, which may fetch. Never rejects. */
  select(kid: string | undefined, alg: Algorithm): Promise<KeyLookup>
}

/**
 * The keys of one JWKS URI (given, or found through discovery by `locate`), kept fresh.
 *
 * - One fetch in flight at a time; every caller waiting for keys shares it.
 * - A set is fresh for the response's `Cache-Control: max-age`, bounded to `[minAgeMs, maxAgeMs]`
 *   (`maxAgeMs` without one); refreshes start in the background at 80 % of that and are
 *   conditional (`If-None-Match` with the last `ETag`).
 * - An unknown `kid` triggers at most one refetch per `cooldownMs` (a rate limit on such fetches,
 *   so a key published by a rotation is picked up at once, and a flood of made-up ids costs one
 *   fetch per window).
 * - A refetch replaces the set whole, so withdrawn keys stop verifying once the set is no longer
 *   fresh; a failed or refused refetch never replaces good keys, which serve for `staleMaxAgeMs`
 *   more at most, without making callers wait on the failing provider.
 * - Failures back off exponentially (1 s, 2 s, 4 s … up to `cooldownMs`); while backing off, a
 *   caller without usable keys fails at once.
 */
export class RemoteKeySet implements KeySource {
  private current: KeySet | undefined
  private etag: string | undefined
  /** The URI `etag` came from: rediscovery may move the key set. */
  private etagUri: string | undefined
  private fetchedAt = -Infinity
  private freshForMs: number
  private inflight: Promise<void> | undefined
  private refreshQueued = false
  private lastUnknownKidFetchAt = -Infinity
  private consecutiveFailures = 0
  private retryNotBefore = -Infinity
  private lastFailure: unknown

  constructor(
    private readonly locate: () => Promise<string>,
    private readonly settings: RemoteKeySetSettings,
  ) {
    this.freshForMs = settings.maxAgeMs
  }

  /**
   * Synchronous fast path: the key for `kid`/`alg` when the cached set is fresh and has it, else
   * undefined (the caller then takes {@link select}). Starts a background refresh near expiry.
   */
  peek(kid: string | undefined, alg: Algorithm): VerificationKey | undefined {
    if (this.current === undefined) return undefined
    const age = this.settings.ageClock() - this.fetchedAt
    if (age >= this.freshForMs) return undefined
    if (age >= this.freshForMs * BACKGROUND_REFRESH_AT) this.refreshSoon()
    const selection = this.current.select(kid, alg)
    return typeof selection === 'string' ? undefined : selection
  }

  /** The key for `kid`/`alg`, fetching or refetching within the rules above. */
  async select(kid: string | undefined, alg: Algorithm): Promise<KeyLookup> {
    const now = this.settings.rateClock()
    let fetchedNow = false
    if (this.current === undefined || this.settings.ageClock() - this.fetchedAt >= this.freshForMs) {
      // Once a refresh has failed, stale keys serve at once while the retry runs in the background.
      const refreshing = this.refresh()
      if (this.consecutiveFailures === 0 || this.usableSet() === undefined) await refreshing
      fetchedNow = true
    }
    const usable = this.usableSet()
    if (usable === undefined) return new KeySetUnavailable(this.lastFailure)
    let selection = usable.select(kid, alg)
    if (selection === 'unknown_kid' && !fetchedNow && this.mayRefetchForUnknownKid(now)) {
      // A background refresh under way may have started before the key was published: let it
      // finish, and fetch again if it did not bring the key.
      if (this.inflight !== undefined) {
        await this.inflight
        selection = this.usableSet()?.select(kid, alg) ?? selection
        if (selection !== 'unknown_kid') return selection
      }
      this.lastUnknownKidFetchAt = now
      await this.refresh()
      selection = this.usableSet()?.select(kid, alg) ?? selection
    }
    return selection
  }

  private mayRefetchForUnknownKid(now: number): boolean {
    return now - this.lastUnknownKidFetchAt >= this.settings.cooldownMs && now >= this.retryNotBefore
  }

  /** The current set while it is fresh or within the stale window, else undefined. */
  private usableSet(): KeySet | undefined {
    const age = this.settings.ageClock() - this.fetchedAt
    return age < this.freshForMs + this.settings.staleMaxAgeMs ? this.current : undefined
  }

  /**
   * Starts a background refresh on a fresh stack (a microtask), not inside the caller's synchronous
   * verification: a custom `fetch` (user code) never runs in the middle of one.
   */
  private refreshSoon(): void {
    if (this.inflight !== undefined || this.refreshQueued) return
    this.refreshQueued = true
    queueMicrotask(() => {
      this.refreshQueued = false
      void this.refresh()
    })
  }

  /** Fetches the set once for all concurrent callers; never rejects (failures are recorded). */
  private refresh(): Promise<void> {
    if (this.inflight !== undefined) return this.inflight
    if (this.settings.rateClock() < this.retryNotBefore) return Promise.resolve()
    this.inflight = this.fetchSet()
      .then(
        () => {
          this.fetchedAt = this.settings.ageClock()
          this.consecutiveFailures = 0
          this.retryNotBefore = -Infinity
          this.lastFailure = undefined
        },
        (error: unknown) => {
          this.consecutiveFailures++
          const backoff = FIRST_BACKOFF_MS * 2 ** Math.min(this.consecutiveFailures - 1, 20)
          this.retryNotBefore = this.settings.rateClock() + Math.min(backoff, Math.max(this.settings.cooldownMs, FIRST_BACKOFF_MS))
          this.lastFailure = error
        },
      )
      .finally(() => {
        this.inflight = undefined
      })
    return this.inflight
  }

  /** Fetches (conditionally, when there is an ETag) and swaps in the new set; throws on any failure. */
  private async fetchSet(): Promise<void> {
    const { settings } = this
    const uri = await this.locate()
    const etag = this.current === undefined || uri !== this.etagUri ? undefined : this.etag
    const document = await fetchJsonDocument(uri, settings.limits, settings.fetch, etag)
    if (!document.notModified) {
      this.current = await KeySet.fromDocument(document.body, settings.allowed, settings.maxKeys)
    }
    this.etag = document.etag
    this.etagUri = uri
    const asked = document.maxAgeSeconds === undefined ? settings.maxAgeMs : document.maxAgeSeconds * 1000
    this.freshForMs = Math.min(Math.max(asked, settings.minAgeMs), settings.maxAgeMs)
  }
}

/**
 * A key set given in the options (`jwks`): imported once, on first use, and never fetched. An
 * unusable static set makes every lookup unavailable, with the reason as cause.
 */
export class StaticKeySet implements KeySource {
  private set: KeySet | undefined
  private readonly loading: Promise<KeySet | KeySetUnavailable>

  constructor(document: unknown, allowed: ReadonlySet<Algorithm>, maxKeys: number) {
    this.loading = KeySet.fromDocument(document, allowed, maxKeys).then(
      (set) => (this.set = set),
      (error: unknown) => new KeySetUnavailable(error),
    )
  }

  peek(kid: string | undefined, alg: Algorithm): VerificationKey | undefined {
    const selection = this.set?.select(kid, alg)
    return typeof selection === 'object' ? selection : undefined
  }

  async select(kid: string | undefined, alg: Algorithm): Promise<KeyLookup> {
    const loaded = await this.loading
    return loaded instanceof KeySetUnavailable ? loaded : loaded.select(kid, alg)
  }
}
