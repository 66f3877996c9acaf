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

// Value of each base64url character, for the check that unused trailing bits are zero.
const BASE64URL_VALUE = new Int8Array(128).fill(-1)
for (const [value, char] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries()) {
  BASE64URL_VALUE[char.charCodeAt(0)] = value
}

/**
 * Throws unless `token[start, end)`, which Node's decoder turned into `decodedLength` bytes, is
 * canonical unpadded base64url (RFC 7515 §2, RFC 4648 §5). No character scan and no re-encoding:
 * the decoder skips or stops at any character outside both base64 alphabets (padding and white
 * space included), which leaves fewer bytes than the length promises, so the byte count shows them;
 * characters it would misread (non-ASCII, `+`, `/`) are refused for the whole token first; and the
 * last character's unused bits must be zero.
 */
function assertCanonical(token: string, start: number, end: number, decodedLength: number): void {
  const length = end - start
  const unusedBits = length % 4 === 2 ? 0x0f : length % 4 === 3 ? 0x03 : 0
  const last = BASE64URL_VALUE[token.charCodeAt(end - 1)] ?? -1
  if (length % 4 === 1 || decodedLength !== Math.floor((length * 3) / 4) || last < 0 || (last & unusedBits) !== 0) {
    throw malformed('the token is not made of canonical base64url segments')
  }
}

/** Decodes `token[start, end)` into a new buffer; see {@link assertCanonical}. */
function decodeSegment(token: string, start: number, end: number): Buffer {
  const bytes = Buffer.from(start === 0 && end === token.length ? token : token.slice(start, end), 'base64url')
  assertCanonical(token, start, end, bytes.length)
  return bytes
}

/** Decodes `token[start, end)` into `scratch` at `offset` and returns a view of the bytes; see {@link assertCanonical}. */
function decodeSegmentInto(scratch: Buffer, offset: number, token: string, start: number, end: number): Buffer {
  const written = scratch.write(token.slice(start, end), offset, 'base64url')
  assertCanonical(token, start, end, written)
  return scratch.subarray(offset, offset + written)
}

/** True when `text` holds the standard alphabet's `+` or `/`, which Node's decoder would accept. */
function hasStandardBase64Characters(text: string): boolean {
  return text.includes('+') || text.includes('/')
}

/**
 * False when `text` holds a character that {@link assertCanonical}'s byte count cannot catch: one
 * outside ASCII (Node's decoder reads only the low byte of each character, so `ť` would pass for
 * `e`), or the standard alphabet's `+` and `/`. Native scans, no allocation.
 */
function hasOnlyDecodableCharacters(text: string): boolean {
  return Buffer.byteLength(text, 'utf8') === text.length && !hasStandardBase64Characters(text)
}

/**
 * Bytes a scratch buffer needs for tokens of up to `maxLength` characters: the token's UTF-8
 * (which also shows any non-ASCII character), then its decoded payload and signature.
 */
export function scratchBytesFor(maxLength: number): number {
  return 2 * maxLength + 8
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
 * With a `scratch` buffer of {@link scratchBytesFor}`(maxLength)` bytes, the signing input, payload
 * and signature are views into it instead of new buffers: they hold only until the next call with
 * the same scratch, so the caller must use them at once or {@link detachCompactJws} them.
 *
 * @throws InvalidTokenError `token_too_large`, `token_malformed` or `token_unsupported_format`.
 */
export function parseCompactJws(
  token: unknown,
  maxLength: number,
  maxDepth = MAX_JSON_DEPTH,
  headers?: HeaderCache,
  scratch?: Buffer,
): CompactJws {
  if (typeof token !== 'string') throw malformed('the token is not a string')
  if (token.length > maxLength) throw new InvalidTokenError('token_too_large', 'the token is longer than allowed')
  const firstDot = token.indexOf('.')
  const secondDot = firstDot === -1 ? -1 : token.indexOf('.', firstDot + 1)
  if (firstDot < 1 || secondDot === -1 || token.indexOf('.', secondDot + 1) !== -1) throw describeNonCompact(token)
  if (secondDot === firstDot + 1 || secondDot === token.length - 1) throw malformed('the token has an empty segment')
  if (scratch !== undefined && scratch.length >= scratchBytesFor(token.length)) return decodeIntoScratch(token, firstDot, secondDot, maxDepth, headers, scratch)
  if (!hasOnlyDecodableCharacters(token)) throw malformed('the token is not made of canonical base64url segments')
  const header = headers === undefined ? parseHeader(decodeSegment(token, 0, firstDot), maxDepth) : headers.parse(token.slice(0, firstDot), maxDepth)
  return {
    header,
    payloadBytes: decodeSegment(token, firstDot + 1, secondDot),
    signingInput: Buffer.from(token.slice(0, secondDot), 'latin1'),
    signature: decodeSegment(token, secondDot + 1, token.length),
  }
}

// Writing the token as UTF-8 copies the signing input and tells, by its byte count, whether any
// character is outside ASCII. The scratch holds at least `token.length + 4` bytes, so the write gets
// past the first such character (at most 3 bytes for one UTF-16 unit), and from there on it has
// written more bytes than it has read characters: a non-ASCII token never writes exactly
// `token.length` bytes, wherever the character is and however much of the rest fits.
function decodeIntoScratch(token: string, firstDot: number, secondDot: number, maxDepth: number, headers: HeaderCache | undefined, scratch: Buffer): CompactJws {
  if (scratch.write(token, 0, 'utf8') !== token.length || hasStandardBase64Characters(token)) {
    throw malformed('the token is not made of canonical base64url segments')
  }
  const header = headers === undefined ? parseHeader(decodeSegment(token, 0, firstDot), maxDepth) : headers.parse(token.slice(0, firstDot), maxDepth)
  const payloadBytes = decodeSegmentInto(scratch, token.length, token, firstDot + 1, secondDot)
  return {
    header,
    payloadBytes,
    signingInput: scratch.subarray(0, secondDot),
    signature: decodeSegmentInto(scratch, token.length + payloadBytes.length, token, secondDot + 1, token.length),
  }
}

/** A copy of `jws` that no longer shares memory with a scratch buffer, for use after an `await`. */
export function detachCompactJws(jws: CompactJws): CompactJws {
  return {
    header: jws.header,
    payloadBytes: Buffer.from(jws.payloadBytes),
    signingInput: Buffer.from(jws.signingInput),
    signature: Buffer.from(jws.signature),
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
      if (!hasOnlyDecodableCharacters(segment)) throw malformed('the token is not made of canonical base64url segments')
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
