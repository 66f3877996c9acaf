import { InvalidTokenError } from './errors.js'
import { JsonRejectedError, parseJsonObject, type JsonObject } from './json.js'

/** A JWS in compact serialization, split and decoded but not yet verified. */
export interface CompactJws {
  /** The protected header, parsed strictly. */
  header: JsonObject
  /** The decoded payload bytes. */
  payloadBytes: Buffer
  /** ASCII bytes of `<header>.<payload>`: what the signature covers. */
  signingInput: Buffer
  /** The decoded signature. */
  signature: Buffer
}

/** Deepest JSON nesting accepted in a header or payload. */
export const MAX_JSON_DEPTH = 32

// Three non-empty base64url segments and nothing else.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

// Value of each base64url character, to check that unused trailing bits are zero.
const BASE64URL_VALUE = new Int8Array(128).fill(-1)
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('').forEach((char, value) => {
  BASE64URL_VALUE[char.charCodeAt(0)] = value
})

function malformed(message: string, cause?: unknown): InvalidTokenError {
  return new InvalidTokenError('token_malformed', message, { cause })
}

/**
 * True when `segment[start, end)` is canonical unpadded base64url: its length is not 1 mod 4 and
 * the bits left over in its last character are zero (RFC 7515 §2, RFC 4648 §3.5).
 */
function isCanonicalBase64url(segment: string, start: number, end: number): boolean {
  const remainder = (end - start) % 4
  if (remainder === 0) return true
  if (remainder === 1) return false
  const last = BASE64URL_VALUE[segment.charCodeAt(end - 1)] ?? -1
  return (last & (remainder === 2 ? 0x0f : 0x03)) === 0
}

function describeNonCompact(token: string): InvalidTokenError {
  if (token.startsWith('{')) {
    return new InvalidTokenError('token_unsupported_format', 'json serialization is not accepted, only compact jws')
  }
  if (token.split('.').length === 5) {
    return new InvalidTokenError('token_unsupported_format', 'encrypted tokens (jwe) are not accepted')
  }
  return malformed('the token is not a compact jws of three base64url segments')
}

function parseHeader(bytes: Buffer): JsonObject {
  try {
    return parseJsonObject(bytes, MAX_JSON_DEPTH)
  } catch (error) {
    if (error instanceof JsonRejectedError) throw malformed('the token header is not a valid json object', error)
    throw error
  }
}

/**
 * Splits and decodes a compact JWS. Checks, before any decoding: type, length (`maxLength`
 * characters), alphabet and segment count; then canonical base64url in every segment, and a header
 * that is a strict JSON object (valid UTF-8, no duplicate members).
 *
 * @throws InvalidTokenError `token_too_large`, `token_malformed` or `token_unsupported_format`.
 */
export function parseCompactJws(token: unknown, maxLength: number): CompactJws {
  if (typeof token !== 'string') throw malformed('the token is not a string')
  if (token.length > maxLength) throw new InvalidTokenError('token_too_large', 'the token is longer than allowed')
  if (!COMPACT_JWS.test(token)) throw describeNonCompact(token)
  const firstDot = token.indexOf('.')
  const secondDot = token.indexOf('.', firstDot + 1)
  if (
    !isCanonicalBase64url(token, 0, firstDot) ||
    !isCanonicalBase64url(token, firstDot + 1, secondDot) ||
    !isCanonicalBase64url(token, secondDot + 1, token.length)
  ) {
    throw malformed('the token contains non-canonical base64url')
  }
  const header = parseHeader(Buffer.from(token.slice(0, firstDot), 'base64url'))
  return {
    header,
    payloadBytes: Buffer.from(token.slice(firstDot + 1, secondDot), 'base64url'),
    signingInput: Buffer.from(token.slice(0, secondDot), 'latin1'),
    signature: Buffer.from(token.slice(secondDot + 1), 'base64url'),
  }
}

/** Parses a JWT claims set strictly (see {@link parseJsonObject}). */
export function parseClaims(payloadBytes: Buffer): JsonObject {
  try {
    return parseJsonObject(payloadBytes, MAX_JSON_DEPTH)
  } catch (error) {
    if (error instanceof JsonRejectedError) throw malformed('the token payload is not a valid json object', error)
    throw error
  }
}
