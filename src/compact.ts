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

/** Default of the deepest JSON nesting accepted in a header or payload (`maxJsonDepth`). */
export const MAX_JSON_DEPTH = 32

function malformed(message: string, cause?: unknown): InvalidTokenError {
  return new InvalidTokenError('token_malformed', message, { cause })
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

/**
 * Decodes `token[start, end)` as canonical unpadded base64url (RFC 7515 §2, RFC 4648 §5): the
 * segment must be exactly what encoding its bytes gives back. That one comparison refuses any
 * character outside the alphabet (the decoder skips those, `+` and `/` included), padding, and
 * non-zero leftover bits, and costs less than a character-class scan.
 */
function decodeSegment(token: string, start: number, end: number): Buffer {
  const segment = token.slice(start, end)
  const bytes = Buffer.from(segment, 'base64url')
  if (bytes.toString('base64url') !== segment) throw malformed('the token is not made of canonical base64url segments')
  return bytes
}

function parseHeader(bytes: Buffer, maxDepth: number): JsonObject {
  try {
    return parseJsonObject(bytes, maxDepth)
  } catch (error) {
    if (error instanceof JsonRejectedError) throw malformed('the token header is not a valid json object', error)
    throw error
  }
}

/**
 * Splits and decodes a compact JWS. Checks, before any decoding: type, length (`maxLength`
 * characters) and three non-empty segments; then canonical base64url in every segment, and a
 * header that is a strict JSON object (valid UTF-8, no duplicate members).
 *
 * @throws InvalidTokenError `token_too_large`, `token_malformed` or `token_unsupported_format`.
 */
export function parseCompactJws(token: unknown, maxLength: number, maxDepth = MAX_JSON_DEPTH, headers?: HeaderCache): CompactJws {
  if (typeof token !== 'string') throw malformed('the token is not a string')
  if (token.length > maxLength) throw new InvalidTokenError('token_too_large', 'the token is longer than allowed')
  const firstDot = token.indexOf('.')
  const secondDot = firstDot === -1 ? -1 : token.indexOf('.', firstDot + 1)
  if (firstDot < 1 || secondDot === -1 || token.indexOf('.', secondDot + 1) !== -1) throw describeNonCompact(token)
  if (secondDot === firstDot + 1 || secondDot === token.length - 1) throw malformed('the token has an empty segment')
  const header = headers === undefined ? parseHeader(decodeSegment(token, 0, firstDot), maxDepth) : headers.parse(token.slice(0, firstDot), maxDepth)
  return {
    header,
    payloadBytes: decodeSegment(token, firstDot + 1, secondDot),
    signingInput: Buffer.from(token.slice(0, secondDot), 'latin1'),
    signature: decodeSegment(token, secondDot + 1, token.length),
  }
}

/** Most distinct header segments a {@link HeaderCache} holds before it starts over. */
const HEADER_CACHE_SIZE = 64

/**
 * Parsed headers by their exact base64url segment. An issuer signs every token with one of a few
 * headers (same `alg`, `kid`, `typ`), so the header need not be decoded and parsed per token. The
 * parsed headers are frozen, since every token with that segment shares one object. Bounded: when
 * full it starts over, so a stream of distinct headers costs only the parsing it would cost anyway.
 */
export class HeaderCache {
  private readonly parsed = new Map<string, JsonObject>()

  parse(segment: string, maxDepth: number): JsonObject {
    let header = this.parsed.get(segment)
    if (header === undefined) {
      header = Object.freeze(parseHeader(decodeSegment(segment, 0, segment.length), maxDepth))
      if (this.parsed.size >= HEADER_CACHE_SIZE) this.parsed.clear()
      this.parsed.set(segment, header)
    }
    return header
  }
}

/** Parses a JWT claims set strictly (see {@link parseJsonObject}). */
export function parseClaims(payloadBytes: Buffer, maxDepth = MAX_JSON_DEPTH): JsonObject {
  try {
    return parseJsonObject(payloadBytes, maxDepth)
  } catch (error) {
    if (error instanceof JsonRejectedError) throw malformed('the token payload is not a valid json object', error)
    throw error
  }
}
