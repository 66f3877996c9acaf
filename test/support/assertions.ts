import { expect } from 'vitest'
import { InvalidTokenError, type InvalidTokenCode } from '../../src/index.js'

/** Awaits a verification that must fail, and returns its error, which must be an `InvalidTokenError`. */
export async function rejection(promise: Promise<unknown>): Promise<InvalidTokenError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection, but the token was accepted')
    },
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(InvalidTokenError)
  return error as InvalidTokenError
}

/** Asserts that a verification fails with `code`, and returns the error. */
export async function expectCode(promise: Promise<unknown>, code: InvalidTokenCode): Promise<InvalidTokenError> {
  const error = await rejection(promise)
  expect(error.code).toBe(code)
  return error
}

/**
 * Asserts that a verification fails because no key set could be obtained, with the underlying
 * failure kept as `cause`, and returns that cause.
 */
export async function expectKeySetUnavailable(promise: Promise<unknown>): Promise<unknown> {
  const error = await expectCode(promise, 'key_set_unavailable')
  expect(error.cause).toBeDefined()
  expect(error.cause).toBeInstanceOf(Error)
  return error.cause
}
