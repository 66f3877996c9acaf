/**
 * Generic fast-check pieces for the property tests (test/property.test.ts): edits of strings and
 * bytes, JSON texts with ordered (possibly repeated) members, and garbage of every shape. Nothing
 * here knows about keys or tokens; the test file combines these with its pool of minted tokens.
 */
import fc from 'fast-check'

export const B64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Characters of an RFC 6750 b64token. */
export const B64TOKEN_CHARS = `${B64URL_ALPHABET}.~+/=`

/** Characters that break parsers: separators, padding, quotes, controls, odd whitespace, non-ASCII. */
export const SPECIAL_CHARS = [
  '.', '=', '+', '/', '%', '"', '\\', '{', '}', '[', ']', ':', ',', ' ', '\t', '\n', '\r', '\0', '\x7f',
  '\u0085', '\u00a0', '\u2028', '\ufeff', 'é', '\ud800', '😀',
]

/** One JSON object member; a list of them may repeat a name, which a JS object cannot. */
export type Member = readonly [name: string, value: unknown]

/** Ways to write the same JSON object with other bytes. */
export interface TextStyle {
  /** Spaces around `:` and `,` and inside the braces. */
  spaces?: boolean
  /** Member names written with `\uXXXX` escapes for their ASCII letters and digits. */
  escapeNames?: boolean
  /** Every `/` written `\/` (in JSON, `/` only ever occurs inside strings). */
  escapeSlashes?: boolean
}

function escapedName(name: string): string {
  const body = [...name]
    .map((char) => (/^[A-Za-z0-9]$/.test(char) ? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}` : JSON.stringify(char).slice(1, -1)))
    .join('')
  return `"${body}"`
}

/** JSON text of an object with exactly these members, in this order (repeats included). */
export function jsonObjectText(members: readonly Member[], style: TextStyle = {}): string {
  const space = style.spaces === true ? ' ' : ''
  const name = (value: string) => (style.escapeNames === true ? escapedName(value) : JSON.stringify(value))
  const body = members.map(([member, value]) => `${name(member)}${space}:${space}${JSON.stringify(value)}`).join(`${space},${space}`)
  const text = `{${space}${body}${space}}`
  return style.escapeSlashes === true ? text.replaceAll('/', '\\/') : text
}

export const textStyleArb: fc.Arbitrary<TextStyle> = fc.record({
  spaces: fc.boolean(),
  escapeNames: fc.boolean(),
  escapeSlashes: fc.boolean(),
})

// ---------------------------------------------------------------------------------------------
// Edits of strings and byte arrays. Positions are any natural number, taken modulo the length at
// application time, so they shrink towards the start.

export type CharEdit =
  | { edit: 'flip'; at: number; bit: number }
  | { edit: 'replace'; at: number; text: string }
  | { edit: 'insert'; at: number; text: string }
  | { edit: 'delete'; at: number; count: number }
  | { edit: 'truncate'; keep: number }
  | { edit: 'swap-adjacent'; at: number }
  | { edit: 'duplicate-range'; at: number; count: number }

export const charArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...B64URL_ALPHABET),
  fc.constantFrom(...SPECIAL_CHARS),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }),
)

export const charEditArb: fc.Arbitrary<CharEdit> = fc.oneof(
  fc.record({ edit: fc.constant('flip'), at: fc.nat(), bit: fc.integer({ min: 0, max: 15 }) }),
  fc.record({ edit: fc.constant('replace'), at: fc.nat(), text: charArb }),
  fc.record({ edit: fc.constant('insert'), at: fc.nat(), text: fc.oneof(charArb, fc.string({ maxLength: 6 })) }),
  fc.record({ edit: fc.constant('delete'), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ edit: fc.constant('truncate'), keep: fc.nat() }),
  fc.record({ edit: fc.constant('swap-adjacent'), at: fc.nat() }),
  fc.record({ edit: fc.constant('duplicate-range'), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
)

/** Applies a character edit to `text` (UTF-16 code units). */
export function editString(text: string, edit: CharEdit): string {
  const n = text.length
  const at = (position: number, extra = 0) => (n + extra === 0 ? 0 : position % (n + extra))
  switch (edit.edit) {
    case 'flip': {
      if (n === 0) return text
      const i = at(edit.at)
      return text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ (1 << edit.bit)) + text.slice(i + 1)
    }
    case 'replace': {
      if (n === 0) return edit.text
      const i = at(edit.at)
      return text.slice(0, i) + edit.text + text.slice(i + 1)
    }
    case 'insert': {
      const i = at(edit.at, 1)
      return text.slice(0, i) + edit.text + text.slice(i)
    }
    case 'delete': {
      const i = at(edit.at)
      return text.slice(0, i) + text.slice(i + edit.count)
    }
    case 'truncate':
      return text.slice(0, at(edit.keep))
    case 'swap-adjacent': {
      if (n < 2) return text
      const i = edit.at % (n - 1)
      return text.slice(0, i) + text.charAt(i + 1) + text.charAt(i) + text.slice(i + 2)
    }
    case 'duplicate-range': {
      const i = at(edit.at)
      return text.slice(0, i) + text.slice(i, i + edit.count) + text.slice(i)
    }
  }
}

export type ByteEdit =
  | { edit: 'flip'; at: number; bit: number }
  | { edit: 'replace'; at: number; byte: number }
  | { edit: 'insert'; at: number; bytes: number[] }
  | { edit: 'delete'; at: number; count: number }
  | { edit: 'truncate'; keep: number }
  | { edit: 'append'; bytes: number[] }
  | { edit: 'prepend'; bytes: number[] }

const byteArb = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  // Bytes that matter in JSON and UTF-8: whitespace, quote, backslash, braces, comma, colon, lead bytes.
  fc.constantFrom(0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x5c, 0x7b, 0x7d, 0x2c, 0x3a, 0x80, 0xc0, 0xe0, 0xef, 0xf0, 0xff),
)
const bytesArb = fc.array(byteArb, { minLength: 1, maxLength: 4 })

export const byteEditArb: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ edit: fc.constant('flip'), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ edit: fc.constant('replace'), at: fc.nat(), byte: byteArb }),
  fc.record({ edit: fc.constant('insert'), at: fc.nat(), bytes: bytesArb }),
  fc.record({ edit: fc.constant('delete'), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ edit: fc.constant('truncate'), keep: fc.nat() }),
  fc.record({ edit: fc.constant('append'), bytes: bytesArb }),
  fc.record({ edit: fc.constant('prepend'), bytes: bytesArb }),
)

/** Applies a byte edit, returning a new buffer. */
export function editBytes(bytes: Buffer, edit: ByteEdit): Buffer {
  const n = bytes.length
  const at = (position: number, extra = 0) => (n + extra === 0 ? 0 : position % (n + extra))
  switch (edit.edit) {
    case 'flip': {
      if (n === 0) return bytes
      const copy = Buffer.from(bytes)
      const i = at(edit.at)
      copy[i] = (copy[i] ?? 0) ^ (1 << edit.bit)
      return copy
    }
    case 'replace': {
      if (n === 0) return Buffer.from([edit.byte])
      const copy = Buffer.from(bytes)
      copy[at(edit.at)] = edit.byte
      return copy
    }
    case 'insert': {
      const i = at(edit.at, 1)
      return Buffer.concat([bytes.subarray(0, i), Buffer.from(edit.bytes), bytes.subarray(i)])
    }
    case 'delete': {
      const i = at(edit.at)
      return Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + edit.count)])
    }
    case 'truncate':
      return bytes.subarray(0, at(edit.keep))
    case 'append':
      return Buffer.concat([bytes, Buffer.from(edit.bytes)])
    case 'prepend':
      return Buffer.concat([Buffer.from(edit.bytes), bytes])
  }
}

// ---------------------------------------------------------------------------------------------
// Edits of a JSON object's members, applied to its member list and written back as text.

export type MemberEdit =
  | { edit: 'reorder'; keys: number[] }
  | { edit: 'duplicate'; at: number; value: { same: true } | { other: unknown } }
  | { edit: 'add'; name: string; value: unknown }
  | { edit: 'remove'; at: number }
  | { edit: 'set'; at: number; value: unknown }
  | { edit: 'rename'; at: number; name: string }
  | { edit: 'restyle'; style: TextStyle }
  | { edit: 'pad'; before: string; after: string }

const jsonWhitespaceArb = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r'), minLength: 0, maxLength: 3 })

/** A member name: registered JOSE and JWT names, their case variants, and arbitrary strings. */
export const memberNameArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('alg', 'kid', 'typ', 'crit', 'b64', 'jku', 'jwk', 'x5u', 'x5c', 'cty', 'zip', 'enc'),
  fc.constantFrom('iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'client_id', 'scope', 'scp'),
  fc.constantFrom('ALG', 'Alg', 'alg ', ' alg', 'alg\u0000', 'EXP', 'Iss', '__proto__', 'constructor', 'toString', ''),
  fc.string({ maxLength: 8 }),
)

/** JSON values, including the troublesome ones: huge and tiny numbers, -0 spelled out, deep arrays. */
export const jsonValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, false, 0, -1, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER + 2, 'none', 'RS256', 'HS256', ''),
  fc.integer({ min: 1, max: 40 }).map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown),
)

export const memberEditArb: fc.Arbitrary<MemberEdit> = fc.oneof(
  fc.record({ edit: fc.constant('reorder'), keys: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }) }),
  fc.record({
    edit: fc.constant('duplicate'),
    at: fc.nat(),
    value: fc.oneof(fc.constant({ same: true as const }), fc.record({ other: jsonValueArb })),
  }),
  fc.record({ edit: fc.constant('add'), name: memberNameArb, value: jsonValueArb }),
  fc.record({ edit: fc.constant('remove'), at: fc.nat() }),
  fc.record({ edit: fc.constant('set'), at: fc.nat(), value: jsonValueArb }),
  fc.record({ edit: fc.constant('rename'), at: fc.nat(), name: memberNameArb }),
  fc.record({ edit: fc.constant('restyle'), style: textStyleArb }),
  fc.record({ edit: fc.constant('pad'), before: jsonWhitespaceArb, after: jsonWhitespaceArb }),
)

/** `members` in the order of ascending `keys` (a stable sort: equal keys keep their order). */
export function reorder<T>(members: readonly T[], keys: readonly number[]): T[] {
  return members
    .map((member, index) => ({ member, key: keys[index % Math.max(keys.length, 1)] ?? 0, index }))
    .sort((a, b) => a.key - b.key || a.index - b.index)
    .map(({ member }) => member)
}

/** The JSON text of `members` after `edit`. */
export function editMembers(members: readonly Member[], edit: MemberEdit): string {
  const n = members.length
  const at = (position: number) => (n === 0 ? 0 : position % n)
  const list = [...members]
  switch (edit.edit) {
    case 'reorder':
      return jsonObjectText(reorder(list, edit.keys))
    case 'duplicate': {
      const member = list[at(edit.at)]
      if (member === undefined) return jsonObjectText(list)
      list.push([member[0], 'same' in edit.value ? member[1] : edit.value.other])
      return jsonObjectText(list)
    }
    case 'add':
      return jsonObjectText([...list, [edit.name, edit.value]])
    case 'remove':
      list.splice(at(edit.at), 1)
      return jsonObjectText(list)
    case 'set': {
      const member = list[at(edit.at)]
      if (member !== undefined) list[at(edit.at)] = [member[0], edit.value]
      return jsonObjectText(list)
    }
    case 'rename': {
      const member = list[at(edit.at)]
      if (member !== undefined) list[at(edit.at)] = [edit.name, member[1]]
      return jsonObjectText(list)
    }
    case 'restyle':
      return jsonObjectText(list, edit.style)
    case 'pad':
      return edit.before + jsonObjectText(list) + edit.after
  }
}

// ---------------------------------------------------------------------------------------------
// Garbage.

/** Strings of every kind: UTF-16 with lone surrogates, graphemes, and parser-hostile characters. */
export const anyStringArb: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: fc.constantFrom(...SPECIAL_CHARS), maxLength: 20 }),
)

/** One segment of something shaped like a compact JWS. */
export const segmentArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: fc.constantFrom(...B64URL_ALPHABET), maxLength: 60 }), weight: 4 },
  { arbitrary: fc.base64String({ maxLength: 60 }), weight: 1 },
  { arbitrary: anyStringArb, weight: 1 },
)

/** `a.b.c` and its near misses: 1 to 6 segments of base64url or anything. */
export const dottedArb: fc.Arbitrary<string> = fc
  .array(segmentArb, { minLength: 1, maxLength: 6 })
  .map((segments) => segments.join('.'))

/** JSON text of arbitrary JSON, and of arbitrary JS values that `JSON.stringify` can write. */
export const jsonTextArb: fc.Arbitrary<string> = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.anything({ maxDepth: 3 }).map((value) => {
    try {
      return JSON.stringify(value) ?? 'undefined'
    } catch {
      return 'null'
    }
  }),
  // Nesting far past any sane limit, and numbers past double range.
  fc.integer({ min: 1, max: 400 }).map((depth) => `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`),
  fc.integer({ min: 1, max: 200 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.constantFrom('{"exp":1e999}', '{"alg":1e999}', `{"n":${'9'.repeat(400)}}`, '{"n":-0.0e-999}', '{}', '{"":""}', '{"a":1,"a":1}', '{"__proto__":{}}'),
)

/** A header object with every registered member possibly present and of any type. */
export const headerObjectArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    alg: fc.oneof(
      fc.constantFrom('RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'HS256', 'HS384', 'HS512', 'none', 'NONE', 'rs256', 'Ed25519'),
      jsonValueArb,
    ),
    kid: fc.oneof(fc.constantFrom('rs256-key', 'ps256-key', 'es256-key', 'eddsa-key', '__proto__', 'constructor'), jsonValueArb),
    typ: fc.oneof(fc.constantFrom('at+jwt', 'JWT', 'application/at+jwt', 'jose', 'dpop+jwt'), jsonValueArb),
    crit: fc.oneof(fc.constant(['b64']), jsonValueArb),
    b64: fc.oneof(fc.boolean(), jsonValueArb),
    jwk: jsonValueArb,
    jku: fc.oneof(fc.constant('https://attacker.example/jwks'), jsonValueArb),
    x5c: jsonValueArb,
  },
  { requiredKeys: [] },
)

/** A claims object near a valid one but with any member of any type. */
export const payloadObjectArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    iss: jsonValueArb,
    aud: jsonValueArb,
    exp: fc.oneof(fc.integer(), jsonValueArb),
    nbf: jsonValueArb,
    iat: jsonValueArb,
    sub: jsonValueArb,
    scope: jsonValueArb,
    scp: jsonValueArb,
  },
  { requiredKeys: [] },
)

/** Values of every JS type, including ones JSON never produces. */
export const anyValueArb: fc.Arbitrary<unknown> = fc.anything({
  maxDepth: 2,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
})
