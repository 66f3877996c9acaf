import { isUtf8 } from 'node:buffer'

/** A JSON object whose members are all own properties; it has no prototype. */
export type JsonObject = { [member: string]: unknown }

/** Why a JSON text was refused; the caller turns it into a token error. */
export type JsonRejection = 'not_utf8' | 'not_json' | 'not_object' | 'too_deep' | 'duplicate_member' | 'proto_member'

/** Thrown by {@link parseJsonObject}; the verifier wraps it, as `cause`, in an `InvalidTokenError`. */
export class JsonRejectedError extends Error {
  constructor(readonly rejection: JsonRejection) {
    super(`json rejected: ${rejection}`)
  }
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

/** What one pass over a JSON text found. */
interface TextCount {
  /** Object members declared: each `:` outside a string is one. */
  members: number
  /** True when an object appears below the top level. */
  nestedObjects: boolean
}

/**
 * One pass over a JSON text that counts object members and enforces a nesting limit. Validity is
 * left to `JSON.parse`; on invalid text the count is moot.
 */
function countMembersInText(text: string, maxDepth: number): TextCount {
  let depth = 0
  let members = 0
  let nestedObjects = false
  const length = text.length
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      i = endOfString(text, i)
    } else if (c === COLON) {
      members++
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (c === OPEN_BRACE && depth > 0) nestedObjects = true
      if (++depth > maxDepth) throw new JsonRejectedError('too_deep')
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--
    }
  }
  return { members, nestedObjects }
}

/** Index of the quote that closes the string opened at `open`, or the text's length. */
function endOfString(text: string, open: number): number {
  let close = text.indexOf('"', open + 1)
  while (close !== -1) {
    let backslashes = 0
    while (text.charCodeAt(close - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return close
    close = text.indexOf('"', close + 1)
  }
  return text.length
}

/** Members of a flat object (no object inside it); refuses a `__proto__` member. */
function countTopLevelMembers(value: object): number {
  if (Object.hasOwn(value, '__proto__')) throw new JsonRejectedError('proto_member')
  let members = 0
  // for…in over a fresh JSON.parse result sees exactly its own members (nothing inherited is
  // enumerable unless Object.prototype was polluted, and then the count fails closed).
  for (const _ in value) members++
  return members
}

/** Counts the members of every object in a parsed value; refuses a `__proto__` member anywhere. */
function countMembersInValue(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  let members = 0
  if (Array.isArray(value)) {
    for (const item of value) members += countMembersInValue(item)
    return members
  }
  if (Object.hasOwn(value, '__proto__')) throw new JsonRejectedError('proto_member')
  for (const key of Object.keys(value)) {
    members += 1 + countMembersInValue((value as JsonObject)[key])
  }
  return members
}

/**
 * Parses UTF-8 bytes as a JSON object, strictly: valid UTF-8, at most `maxDepth` levels of
 * nesting, no duplicate member names and no `__proto__` member at any level. The returned top-level
 * object has a `null` prototype, so no inherited property can be read through it.
 *
 * Duplicates are found without a second parser: `JSON.parse` keeps one member per name, so the
 * members it kept add up to fewer than the text declares exactly when a name was repeated.
 */
export function parseJsonObject(bytes: Uint8Array, maxDepth: number): JsonObject {
  if (!isUtf8(bytes)) throw new JsonRejectedError('not_utf8')
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  const declared = countMembersInText(text, maxDepth)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new JsonRejectedError('not_json')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JsonRejectedError('not_object')
  const kept = declared.nestedObjects ? countMembersInValue(value) : countTopLevelMembers(value)
  if (kept !== declared.members) throw new JsonRejectedError('duplicate_member')
  return Object.setPrototypeOf(value, null) as JsonObject
}
