/**
 * Milliseconds on Node's monotonic clock, for cooldowns and back-offs: it never goes back, so no
 * change to the wall clock can lift a rate limit. (It stands still while the machine sleeps, which
 * only makes a pending cooldown last longer.) It reads the global `performance`, which test
 * suites' fake timers can move.
 */
export function monotonicMs(): number {
  return performance.now()
}

/**
 * A clock, in milliseconds, for how long ago something was fetched. It advances with the monotonic
 * clock, so setting the wall clock back cannot keep keys fresh, and it jumps ahead with the wall
 * clock, so time the machine spent suspended (which the monotonic clock does not count) still ages
 * them. It never goes back. Each caller gets its own instance.
 */
export function agingClock(): () => number {
  let lastMonotonic = monotonicMs()
  let last = Date.now()
  return () => {
    const monotonic = monotonicMs()
    last = Math.max(last + Math.max(0, monotonic - lastMonotonic), Date.now())
    lastMonotonic = monotonic
    return last
  }
}
