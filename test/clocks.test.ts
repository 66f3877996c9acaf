import { afterEach, describe, expect, it, vi } from 'vitest'
import { agingClock, monotonicMs } from '../src/clocks.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('agingClock', () => {
  it('follows elapsed time when the wall clock goes back, jumps ahead with it, and never goes back', () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] })
    vi.setSystemTime(1_000_000)
    const clock = agingClock()
    const start = clock()
    vi.advanceTimersByTime(500)
    expect(clock() - start).toBe(500)
    vi.setSystemTime(0) // wall clock set back: elapsed time still counts
    vi.advanceTimersByTime(250)
    expect(clock() - start).toBe(750)
    vi.setSystemTime(start + 60_000) // wall clock ahead of the clock (a suspend): jump to it
    expect(clock() - start).toBe(60_000)
    const before = clock()
    vi.setSystemTime(start) // and back again: no step backwards
    expect(clock()).toBeGreaterThanOrEqual(before)
  })
})

describe('monotonicMs', () => {
  it('does not follow the wall clock', () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] })
    const before = monotonicMs()
    vi.setSystemTime(Date.now() + 3_600_000)
    expect(monotonicMs() - before).toBe(0)
  })
})
