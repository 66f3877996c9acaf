import { afterEach, describe, expect, it, vi } from 'vitest'
import { detachCompactJws, HeaderCache, parseClaims, parseCompactJws, scratchBytesFor, type CompactJws } from '../src/compact.js'
import { InvalidTokenError, type InvalidTokenCode } from '../src/errors.js'
import { JsonRejectedError } from '../src/json.js'
import { b64url } from './helpers.js'

const MAX = 8192
const HEADER = b64url(JSON.stringify({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' }))
const PAYLOAD = b64url(JSON.stringify({ iss: 'https://issuer.example.com/', sub: 'user-1', exp: 2_000_000_000 }))
const SIGNATURE = b64url(Buffer.alloc(256, 7))
const TOKEN = `${HEADER}.${PAYLOAD}.${SIGNATURE}`
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * Both ways the verifier parses a token: into new buffers (as with `offloadSignatureChecks`), and
 * with a header cache and a scratch buffer (its synchronous path). Every case runs through both.
 */
const PARSERS: ReadonlyArray<readonly [string, (token: unknown, maxLength: number) => CompactJws]> = [
  ['new buffers', (token, maxLength) => parseCompactJws(token, maxLength)],
  ['scratch', (token, maxLength) => parseCompactJws(token, maxLength, 32, new HeaderCache(), Buffer.alloc(scratchBytesFor(maxLength)))],
]

/** The error `token` is refused with; fails the test when either parser accepts it or they differ. */
function failure(token: unknown, maxLength = MAX): InvalidTokenError {
  const errors = PARSERS.map(([name, parse]) => {
    let caught: unknown
    try {
      parse(token, maxLength)
    } catch (error) {
      caught = error
    }
    expect(caught, `expected the token to be refused (${name})`).toBeInstanceOf(InvalidTokenError)
    const error = caught as InvalidTokenError
    expect(error.status).toBe(401)
    expect(error.error).toBe('invalid_token')
    return error
  })
  expect(new Set(errors.map((error) => error.code)).size, 'both parsers give the same code').toBe(1)
  return errors[0] as InvalidTokenError
}

/** Parses `token` both ways; fails the test when either refuses it or they disagree. */
function accepts(token: string, maxLength = MAX): CompactJws {
  const [plain, scratch] = PARSERS.map(([, parse]) => parse(token, maxLength)) as [CompactJws, CompactJws]
  expect({ ...scratch.header }).toEqual({ ...plain.header })
  expect(scratch.payloadBytes.equals(plain.payloadBytes)).toBe(true)
  expect(scratch.signingInput.equals(plain.signingInput)).toBe(true)
  expect(scratch.signature.equals(plain.signature)).toBe(true)
  return plain
}

function expectCode(token: unknown, code: InvalidTokenCode, maxLength = MAX): InvalidTokenError {
  const error = failure(token, maxLength)
  expect(error.code).toBe(code)
  return error
}

/** A token whose header is the given raw bytes, otherwise valid. */
function withHeaderBytes(header: string | Uint8Array): string {
  return `${b64url(header)}.${PAYLOAD}.${SIGNATURE}`
}

/** The same segment with its last character's unused low bits changed (e.g. `A` → `B`). */
function withDirtyBits(segment: string): string {
  const remainder = segment.length % 4
  expect(remainder === 2 || remainder === 3, 'a segment with unused bits').toBe(true)
  const last = B64URL.indexOf(segment.slice(-1))
  return segment.slice(0, -1) + B64URL.charAt(last ^ 1)
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('parseCompactJws: a valid token', () => {
  it('splits and decodes the three segments', () => {
    const jws = parseCompactJws(TOKEN, MAX)
    expect({ ...jws.header }).toEqual({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' })
    expect(Object.getPrototypeOf(jws.header)).toBeNull()
    expect(JSON.parse(jws.payloadBytes.toString('utf8'))).toMatchObject({ sub: 'user-1' })
    expect(jws.signingInput.toString('latin1')).toBe(`${HEADER}.${PAYLOAD}`)
    expect(jws.signature.equals(Buffer.alloc(256, 7))).toBe(true)
  })

  it('does not parse the payload: that waits for the signature', () => {
    const jws = parseCompactJws(`${HEADER}.${b64url('not json at all')}.${SIGNATURE}`, MAX)
    expect(jws.payloadBytes.toString()).toBe('not json at all')
  })

  it('accepts a token exactly maxLength characters long', () => {
    accepts(TOKEN, TOKEN.length)
  })
})

describe('parseCompactJws: type and length', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', {}],
    ['an array of segments', [HEADER, PAYLOAD, SIGNATURE]],
    ['a Buffer of a valid token', Buffer.from(TOKEN)],
    ['a String object of a valid token', new String(TOKEN)],
    ['a function', () => TOKEN],
  ])('refuses %s as token_malformed', (_name, token) => {
    expectCode(token, 'token_malformed')
  })

  it('refuses a token one character over maxLength as token_too_large', () => {
    expectCode(TOKEN, 'token_too_large', TOKEN.length - 1)
    expectCode(`${TOKEN}A`.padEnd(MAX + 1, 'A'), 'token_too_large')
  })

  it('checks the length before anything else, without decoding', () => {
    const from = vi.spyOn(Buffer, 'from')
    expectCode('{'.repeat(MAX + 1), 'token_too_large')
    expectCode('a.b.c.d.e'.padEnd(MAX + 1, 'x'), 'token_too_large')
    expectCode(`${'.'.repeat(5_000_000)}`, 'token_too_large')
    expectCode(`${HEADER}.${'A'.repeat(10_000_000)}.${SIGNATURE}`, 'token_too_large')
    expect(from).not.toHaveBeenCalled()
    parseCompactJws(TOKEN, MAX) // the spy does see the decoding of an accepted token
    expect(from).toHaveBeenCalled()
  })
})

describe('parseCompactJws: serialization', () => {
  it.each([
    ['one segment', HEADER],
    ['two segments', `${HEADER}.${PAYLOAD}`],
    ['four segments', `${TOKEN}.${SIGNATURE}`],
    ['six segments', `${TOKEN}.${PAYLOAD}.${SIGNATURE}.${HEADER}`],
    ['the empty string', ''],
    ['only dots', '..'],
    ['an empty header', `.${PAYLOAD}.${SIGNATURE}`],
    ['an empty payload', `${HEADER}..${SIGNATURE}`],
    ['an empty signature', `${HEADER}.${PAYLOAD}.`],
    ['a leading dot', `.${TOKEN}`],
    ['a trailing dot', `${TOKEN}.`],
    ['JSON text that does not start with a brace', ` {"payload":"${PAYLOAD}"}`],
  ])('refuses %s as token_malformed', (_name, token) => {
    expectCode(token, 'token_malformed')
  })

  it.each([
    ['a JWE (five segments)', `${b64url('{"alg":"RSA-OAEP","enc":"A256GCM"}')}.${SIGNATURE}.AAAA.${PAYLOAD}.AAAA`],
    ['a JWE with an empty encrypted key (alg dir)', `${b64url('{"alg":"dir","enc":"A256GCM"}')}..AAAA.${PAYLOAD}.AAAA`],
    ['the JWS JSON serialization', JSON.stringify({ payload: PAYLOAD, signatures: [{ protected: HEADER, signature: SIGNATURE }] })],
    ['the flattened JWS JSON serialization', JSON.stringify({ payload: PAYLOAD, protected: HEADER, signature: SIGNATURE })],
    ['any text starting with a brace', '{'],
  ])('refuses %s as token_unsupported_format', (_name, token) => {
    expectCode(token, 'token_unsupported_format')
  })
})

describe('parseCompactJws: alphabet', () => {
  const padded = b64url('{"alg":"RS256"}X') // 16 bytes: 22 characters, padding would be "=="
  it.each([
    ['= padding on the header', `${padded}==.${PAYLOAD}.${SIGNATURE}`],
    ['= padding on the signature', `${HEADER}.${PAYLOAD}.${b64url(Buffer.alloc(32, 1))}=`],
    ['standard base64 "+"', `${HEADER}.${PAYLOAD}.${SIGNATURE.slice(0, -4)}ab+c`],
    ['standard base64 "/"', `${HEADER}.${PAYLOAD}.${SIGNATURE.slice(0, -4)}ab/c`],
    ['a leading space', ` ${TOKEN}`],
    ['a trailing space', `${TOKEN} `],
    ['a trailing newline', `${TOKEN}\n`],
    ['a trailing CRLF', `${TOKEN}\r\n`],
    ['a space inside a segment', `${HEADER}.${PAYLOAD.slice(0, 8)} ${PAYLOAD.slice(8)}.${SIGNATURE}`],
    ['a tab inside a segment', `${HEADER}.${PAYLOAD}.\t${SIGNATURE}`],
    ['a line break inside a segment', `${HEADER}.${PAYLOAD.slice(0, 8)}\n${PAYLOAD.slice(8)}.${SIGNATURE}`],
    ['a NUL character', `${TOKEN}\u0000`],
    ['a non-ascii letter', `${HEADER}.${PAYLOAD}.${SIGNATURE}é`],
    ['a full-width letter', `${HEADER}.${PAYLOAD}.Ａ${SIGNATURE}`],
    ['a non-ascii digit', `${HEADER}.${PAYLOAD}.${SIGNATURE}٣`],
    ['a percent-encoded character', `${HEADER}.${PAYLOAD}.${SIGNATURE}%41`],
    ['a "Bearer " prefix', `Bearer ${TOKEN}`],
  ])('refuses %s as token_malformed', (_name, token) => {
    expectCode(token, 'token_malformed')
  })
})

describe('parseCompactJws: canonical base64url', () => {
  it('refuses a segment whose length is 1 mod 4, in any position', () => {
    const oneMod4 = (segment: string) => segment + 'A'.repeat((5 - (segment.length % 4)) % 4)
    expect([HEADER, PAYLOAD, SIGNATURE].map((segment) => oneMod4(segment).length % 4)).toEqual([1, 1, 1])
    expectCode(`${oneMod4(HEADER)}.${PAYLOAD}.${SIGNATURE}`, 'token_malformed')
    expectCode(`${HEADER}.${oneMod4(PAYLOAD)}.${SIGNATURE}`, 'token_malformed')
    expectCode(`${HEADER}.${PAYLOAD}.${oneMod4(SIGNATURE)}`, 'token_malformed')
    expectCode(`${HEADER}.A.${SIGNATURE}`, 'token_malformed')
    expectCode(`${HEADER}.${PAYLOAD}.AAAAA`, 'token_malformed')
  })

  it('refuses non-zero unused bits (remainder 2 and 3), which decode to the same bytes', () => {
    const two = b64url('x') // "eA": remainder 2, the last character has 4 unused bits
    const three = b64url('xy') // "eHk": remainder 3, the last character has 2 unused bits
    expect([two.length % 4, three.length % 4]).toEqual([2, 3])
    for (const segment of [two, three]) {
      const dirty = withDirtyBits(segment)
      expect(Buffer.from(dirty, 'base64url').equals(Buffer.from(segment, 'base64url'))).toBe(true)
      accepts(`${HEADER}.${segment}.${SIGNATURE}`)
      expectCode(`${HEADER}.${dirty}.${SIGNATURE}`, 'token_malformed')
      expectCode(`${HEADER}.${PAYLOAD}.${dirty}`, 'token_malformed')
    }
  })

  it('refuses non-zero unused bits in the header', () => {
    const header = b64url('{"alg":"RS256"}  ') // 17 bytes: remainder 3
    expect(header.length % 4).toBe(3)
    accepts(`${header}.${PAYLOAD}.${SIGNATURE}`)
    expectCode(`${withDirtyBits(header)}.${PAYLOAD}.${SIGNATURE}`, 'token_malformed')
  })

  it('accepts a last character exactly when its unused bits are zero', () => {
    for (const [prefix, mask] of [['A', 0x0f], ['AA', 0x03]] as const) {
      for (const [value, char] of [...B64URL].entries()) {
        const token = `${HEADER}.${PAYLOAD}.${prefix}${char}`
        if ((value & mask) === 0) accepts(token)
        else expectCode(token, 'token_malformed')
      }
    }
  })

  it('changing the last character of a valid segment from A to B is refused', () => {
    const segment = b64url(Buffer.from([0x01, 0x00])) // "AQA"
    expect(segment).toBe('AQA')
    accepts(`${HEADER}.${PAYLOAD}.${segment}`)
    expectCode(`${HEADER}.${PAYLOAD}.AQB`, 'token_malformed')
    expectCode(`${HEADER}.${PAYLOAD}.AB`, 'token_malformed')
  })
})

describe('parseCompactJws: header', () => {
  const headers: [string, string | Uint8Array, string][] = [
    ['an array', '[{"alg":"RS256"}]', 'not_object'],
    ['a string', '"RS256"', 'not_object'],
    ['a number', '1', 'not_object'],
    ['null', 'null', 'not_object'],
    ['not json', 'alg=RS256', 'not_json'],
    ['truncated json', '{"alg":"RS256"', 'not_json'],
    ['a duplicate alg', '{"alg":"RS256","alg":"none"}', 'duplicate_member'],
    ['a duplicate alg hidden by an escape', String.raw`{"alg":"none","\u0061lg":"RS256"}`, 'duplicate_member'],
    ['a duplicate nested member', '{"alg":"RS256","jwk":{"kty":"RSA","kty":"oct"}}', 'duplicate_member'],
    ['a __proto__ member', '{"alg":"RS256","__proto__":{"alg":"none"}}', 'proto_member'],
    ['an overlong utf-8 sequence', Buffer.concat([Buffer.from('{"alg":"RS256","kid":"'), Buffer.from('c0af', 'hex'), Buffer.from('"}')]), 'not_utf8'],
    ['a CESU-8 surrogate', Buffer.concat([Buffer.from('{"alg":"RS256","kid":"'), Buffer.from('eda080', 'hex'), Buffer.from('"}')]), 'not_utf8'],
    ['a truncated utf-8 sequence', Buffer.concat([Buffer.from('{"alg":"RS256","kid":"'), Buffer.from('e282', 'hex'), Buffer.from('"}')]), 'not_utf8'],
    ['nesting deeper than 32', `{"alg":"RS256","x":${'['.repeat(32)}${']'.repeat(32)}}`, 'too_deep'],
  ]
  it.each(headers)('refuses a header that is %s as token_malformed', (_name, header, rejection) => {
    const error = expectCode(withHeaderBytes(header), 'token_malformed')
    expect(error.cause).toBeInstanceOf(JsonRejectedError)
    expect((error.cause as JsonRejectedError).rejection).toBe(rejection)
  })

  it('accepts a header nested exactly 32 deep', () => {
    const header = `{"alg":"RS256","x":${'['.repeat(31)}${']'.repeat(31)}}`
    expect(parseCompactJws(withHeaderBytes(header), MAX).header.alg).toBe('RS256')
  })
})

describe('parseCompactJws: errors', () => {
  it('never puts the token in the message', () => {
    const secretish = `${b64url('{"alg":"RS256","alg":"HS256"}')}.${PAYLOAD}.${SIGNATURE}`
    for (const token of [secretish, `${TOKEN}.${PAYLOAD}`, `${TOKEN} `, `${HEADER}.${PAYLOAD}.${SIGNATURE}=`]) {
      const error = failure(token)
      expect(error.message).not.toContain(PAYLOAD)
      expect(error.message).not.toContain(SIGNATURE)
      expect(error.wwwAuthenticate).not.toContain(PAYLOAD)
    }
  })
})

describe('parseClaims', () => {
  function claimsFailure(text: string | Uint8Array): InvalidTokenError {
    let caught: unknown
    try {
      parseClaims(Buffer.from(text))
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(InvalidTokenError)
    expect((caught as InvalidTokenError).code).toBe('token_malformed')
    return caught as InvalidTokenError
  }

  it('returns the claims with a null prototype', () => {
    const claims = parseClaims(Buffer.from('{"sub":"a","exp":1}'))
    expect({ ...claims }).toEqual({ sub: 'a', exp: 1 })
    expect(Object.getPrototypeOf(claims)).toBeNull()
  })

  it.each([
    ['a duplicate sub', '{"sub":"user","sub":"admin"}', 'duplicate_member'],
    ['a duplicate sub hidden by an escape', String.raw`{"sub":"user","\u0073ub":"admin"}`, 'duplicate_member'],
    ['a __proto__ claim', '{"sub":"user","__proto__":{"admin":true}}', 'proto_member'],
    ['an array', '[{"sub":"user"}]', 'not_object'],
    ['not json', 'sub=user', 'not_json'],
    ['nesting deeper than 32', `{"x":${'['.repeat(40)}${']'.repeat(40)}}`, 'too_deep'],
  ])('refuses a payload with %s', (_name, text, rejection) => {
    expect((claimsFailure(text).cause as JsonRejectedError).rejection).toBe(rejection)
  })

  it('refuses a payload that is not utf-8', () => {
    const bytes = Buffer.concat([Buffer.from('{"sub":"'), Buffer.from('eda080edb080', 'hex'), Buffer.from('"}')])
    expect((claimsFailure(bytes).cause as JsonRejectedError).rejection).toBe('not_utf8')
  })
})

describe('HeaderCache', () => {
  it('parses each distinct header segment once and shares one frozen object', () => {
    const cache = new HeaderCache()
    const segment = b64url(JSON.stringify({ alg: 'RS256', kid: 'k' }))
    const first = cache.parse(segment, 32)
    expect(cache.parse(segment, 32)).toBe(first)
    expect(Object.isFrozen(first)).toBe(true)
    expect(first).toEqual(Object.assign(Object.create(null), { alg: 'RS256', kid: 'k' }))
  })

  it('applies every check to a header it has not seen, and never caches a failure', () => {
    const cache = new HeaderCache()
    for (let i = 0; i < 2; i++) {
      expect(() => cache.parse(b64url('{"alg":"RS256","alg":"none"}'), 32)).toThrow(InvalidTokenError)
      expect(() => cache.parse(`${b64url('{"alg":"RS256"}')}A`, 32)).toThrow(InvalidTokenError)
    }
  })

  it('stays bounded under a stream of distinct headers and keeps answering correctly', () => {
    const cache = new HeaderCache()
    for (let i = 0; i < 1000; i++) {
      expect(cache.parse(b64url(JSON.stringify({ alg: 'ES256', kid: `k${i}` })), 32).kid).toBe(`k${i}`)
    }
    expect((cache as unknown as { parsed: Map<string, unknown> }).parsed.size).toBeLessThanOrEqual(64)
  })
})

describe('characters the base64 decoder would misread', () => {
  // Node's decoder reads only the low byte of each character: U+0165 (ť) would pass for 'e'.
  it.each([0, 1, 2])('refuses a non-ASCII character whose low byte is base64url, in segment %i', (segment) => {
    const token = `${b64url(JSON.stringify({ alg: 'RS256' }))}.${b64url('{"sub":"a","exp":1}')}.${b64url('signature')}`
    const parts = token.split('.')
    const target = parts[segment] ?? ''
    const index = [...target].findIndex((char) => char === 'e' || char === 'J' || char === 'A')
    expect(index).toBeGreaterThanOrEqual(0)
    const lowByte = target.charCodeAt(index)
    parts[segment] = `${target.slice(0, index)}${String.fromCharCode(0x100 + lowByte)}${target.slice(index + 1)}`
    const mutated = parts.join('.')
    expectCode(mutated, 'token_malformed')
    expect(() => parseCompactJws(mutated, 8192, 32, new HeaderCache())).toThrow(InvalidTokenError)
  })

  // The scratch path sees non-ASCII by the UTF-8 byte count; the scratch, sized for the longest
  // allowed token, must leave room for the first such character even at the very end.
  it.each([
    ['a 2-byte character', 'é'],
    ['a 3-byte character', '\u2028'],
    ['a surrogate pair', '\u{1F511}'],
    ['a lone high surrogate', '\uD83D'],
    ['a lone low surrogate', '\uDD11'],
  ])('refuses %s at the end, or in the middle, of a token exactly as long as allowed', (_name, char) => {
    const atEnd = `${TOKEN}${char}`
    expectCode(atEnd, 'token_malformed', atEnd.length)
    const inMiddle = `${HEADER}.${PAYLOAD.slice(0, 5)}${char}${PAYLOAD.slice(5)}.${SIGNATURE}`
    expectCode(inMiddle, 'token_malformed', inMiddle.length)
    const allOfIt = char.repeat(TOKEN.length) // more UTF-8 bytes than the scratch holds
    expectCode(`${allOfIt}.${PAYLOAD}.${SIGNATURE}`, 'token_malformed', allOfIt.length + PAYLOAD.length + SIGNATURE.length + 2)
  })
})

describe('parseCompactJws with a scratch buffer', () => {
  const OTHER = `${HEADER}.${b64url('{"sub":"someone else","exp":1}')}.${b64url(Buffer.alloc(256, 9))}`

  it('returns views into the scratch, which the next token overwrites', () => {
    const scratch = Buffer.alloc(scratchBytesFor(MAX))
    const jws = parseCompactJws(TOKEN, MAX, 32, new HeaderCache(), scratch)
    for (const view of [jws.payloadBytes, jws.signingInput, jws.signature]) expect(view.buffer).toBe(scratch.buffer)
    const signature = Buffer.from(jws.signature)
    parseCompactJws(OTHER, MAX, 32, new HeaderCache(), scratch)
    expect(jws.signature.equals(signature)).toBe(false)
  })

  it('detachCompactJws copies what the next token would overwrite', () => {
    const scratch = Buffer.alloc(scratchBytesFor(MAX))
    const detached = detachCompactJws(parseCompactJws(TOKEN, MAX, 32, new HeaderCache(), scratch))
    parseCompactJws(OTHER, MAX, 32, new HeaderCache(), scratch)
    for (const view of [detached.payloadBytes, detached.signingInput, detached.signature]) expect(view.buffer).not.toBe(scratch.buffer)
    expect(detached.signingInput.toString('latin1')).toBe(`${HEADER}.${PAYLOAD}`)
    expect(detached.signature.equals(Buffer.alloc(256, 7))).toBe(true)
    expect(JSON.parse(detached.payloadBytes.toString('utf8'))).toMatchObject({ sub: 'user-1' })
  })

  it('decodes into new buffers when the scratch is too small for the token', () => {
    const scratch = Buffer.alloc(scratchBytesFor(TOKEN.length) - 1)
    const jws = parseCompactJws(TOKEN, MAX, 32, new HeaderCache(), scratch)
    expect(jws.signature.buffer).not.toBe(scratch.buffer)
    expect(scratch.every((byte) => byte === 0)).toBe(true)
    expect(jws.signingInput.toString('latin1')).toBe(`${HEADER}.${PAYLOAD}`)
  })
})
