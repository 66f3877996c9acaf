import { describe, expect, it } from 'vitest'
import { JsonRejectedError, parseJsonObject, type JsonObject, type JsonRejection } from '../src/json.js'

const DEPTH = 32

function bytesOf(input: string | Uint8Array): Uint8Array {
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : input
}

function parse(input: string | Uint8Array, maxDepth = DEPTH): JsonObject {
  return parseJsonObject(bytesOf(input), maxDepth)
}

/** The reason `input` is refused; fails the test when it is accepted or refused otherwise. */
function rejection(input: string | Uint8Array, maxDepth = DEPTH): JsonRejection {
  let caught: unknown
  try {
    parse(input, maxDepth)
  } catch (error) {
    caught = error
  }
  expect(caught, 'expected the json text to be refused').toBeInstanceOf(JsonRejectedError)
  return (caught as JsonRejectedError).rejection
}

/** `{"a":"<bytes>"}`: a string member whose value is the given raw bytes. */
function withRawBytes(hex: string): Uint8Array {
  return Buffer.concat([Buffer.from('{"a":"'), Buffer.from(hex, 'hex'), Buffer.from('"}')])
}

/** `depth` nested objects: `{"a":{"a":{}}}` is depth 3. */
function nestedObjects(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1)
}

describe('parseJsonObject: utf-8', () => {
  const invalid: [string, string][] = [
    ['overlong "/" in two bytes', 'c0af'],
    ['overlong NUL in two bytes', 'c080'],
    ['overlong "/" in three bytes', 'e080af'],
    ['overlong "/" in four bytes', 'f08080af'],
    ['an encoded high surrogate (CESU-8)', 'eda080'],
    ['an encoded low surrogate (CESU-8)', 'edb080'],
    ['a surrogate pair encoded as two CESU-8 sequences', 'eda080edb080'],
    ['a code point above U+10FFFF', 'f4908080'],
    ['a truncated three-byte sequence', 'e282'],
    ['a truncated four-byte sequence', 'f09f98'],
    ['a stray continuation byte', '80'],
    ['the byte 0xFF', 'ff'],
    ['the byte 0xFE', 'fe'],
    ['a latin-1 é', 'e9'],
  ]
  it.each(invalid)('refuses %s inside a string', (_name, hex) => {
    expect(rejection(withRawBytes(hex))).toBe('not_utf8')
  })

  it('refuses a sequence truncated by the end of the input', () => {
    const bytes = Buffer.concat([Buffer.from('{"a":1}'), Buffer.from('e2', 'hex')])
    expect(rejection(bytes)).toBe('not_utf8')
  })

  it('refuses invalid bytes outside strings too', () => {
    expect(rejection(Buffer.concat([Buffer.from('{"a":1'), Buffer.from('c0a0', 'hex'), Buffer.from('}')]))).toBe('not_utf8')
  })

  it('accepts and decodes valid multi-byte characters', () => {
    const result = parse(withRawBytes(Buffer.from('é€😀', 'utf8').toString('hex')))
    expect(result.a).toBe('é€😀')
  })

  it('reads only the bytes of a view, not the rest of its buffer', () => {
    const backing = Buffer.concat([Buffer.from('ff', 'hex'), Buffer.from('{"a":1}'), Buffer.from('ff', 'hex')])
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 1, backing.length - 2)
    expect({ ...parse(view) }).toEqual({ a: 1 })
  })
})

describe('parseJsonObject: not json', () => {
  const texts = [
    '',
    ' ',
    '{',
    '{"a":1',
    '{"a":1}}',
    '{"a":1}x',
    '{"a":1} {"b":2}',
    "{'a':1}",
    '{a:1}',
    '{"a":1,}',
    '{"a":01}',
    '{"a":NaN}',
    '{"a":undefined}',
    '{"a":"\u0001"}',
    '{"a":"\n"}',
    '\uFEFF{"a":1}',
    String.raw`{"a":"\x41"}`,
    String.raw`{"a":"\u12"}`,
  ]
  it.each(texts)('refuses %j', (text) => {
    expect(rejection(text)).toBe('not_json')
  })
})

describe('parseJsonObject: not an object', () => {
  it.each(['[]', '[{"a":1}]', '"x"', '1', '-0', 'null', 'true', 'false', ' [] '])('refuses %j', (text) => {
    expect(rejection(text)).toBe('not_object')
  })

  it('accepts an empty object and surrounding json whitespace', () => {
    expect(Object.keys(parse('{}'))).toEqual([])
    expect({ ...parse(' \t\r\n{"a":1}\n') }).toEqual({ a: 1 })
  })
})

describe('parseJsonObject: duplicate members', () => {
  const duplicates: [string, string][] = [
    ['top-level, same value', '{"a":1,"a":1}'],
    ['top-level, different values', '{"alg":"RS256","alg":"none"}'],
    ['top-level, three times', '{"a":1,"b":2,"a":3,"a":4}'],
    ['the empty name', '{"":1,"":2}'],
    ['nested', '{"x":{"a":1,"a":2}}'],
    ['deeply nested', '{"x":{"y":{"z":{"a":1,"a":2}}}}'],
    ['in an object inside an array', '{"x":[{"a":1},{"b":1,"b":2}]}'],
    ['hidden by a \\u escape', String.raw`{"a":1,"\u0061":2}`],
    ['hidden by an upper-case \\u escape', String.raw`{"alg":1,"\u0041\u004c\u0047":0,"\u0061lg":2}`],
    ['hidden by an escaped solidus', String.raw`{"a/":1,"a\/":2}`],
    ['hidden by escaping a non-ascii character', String.raw`{"é":1,"\u00e9":2}`],
    ['hidden by a surrogate-pair escape', String.raw`{"😀":1,"\ud83d\ude00":2}`],
    ['after a string full of colons, quotes and braces', String.raw`{"a":"x:y\":{","a":1}`],
    ['after a key full of colons', String.raw`{"k:\":{":1,"k:\":{":2}`],
    ['after an escaped backslash that ends a string', String.raw`{"a":"\\","a":2}`],
    ['after escaped quotes and backslashes', String.raw`{"a":"\\\"","a":2}`],
  ]
  it.each(duplicates)('refuses a duplicate %s', (_name, text) => {
    expect(rejection(text)).toBe('duplicate_member')
  })

  it('accepts names that only look alike, and the same name in different objects', () => {
    expect({ ...parse('{"a":1,"A":2,"a ":3," a":4}') }).toEqual({ a: 1, A: 2, 'a ': 3, ' a': 4 })
    expect({ ...parse('{"1":1,"01":2,"1.0":3}') }).toEqual({ 1: 1, '01': 2, '1.0': 3 })
    expect({ ...parse('{"a":{"a":1},"b":{"a":2},"c":[{"a":3},{"a":4}]}') }).toEqual({
      a: { a: 1 },
      b: { a: 2 },
      c: [{ a: 3 }, { a: 4 }],
    })
  })

  it('is not fooled by colons, braces and escaped quotes or backslashes inside strings', () => {
    expect({ ...parse(String.raw`{"a":"x:y\":{","b":1}`) }).toEqual({ a: 'x:y":{', b: 1 })
    expect({ ...parse(String.raw`{"a":"x\\","b":"y:z"}`) }).toEqual({ a: 'x\\', b: 'y:z' })
    expect({ ...parse(String.raw`{"a\\\"::":"\\\\","b":"\\\":"}`) }).toEqual({ 'a\\"::': '\\\\', b: '\\":' })
    expect({ ...parse(String.raw`{"a":"\u0022:\u0022"}`) }).toEqual({ a: '":"' })
    expect({ ...parse('{"a":":::::","b":["::",":"]}') }).toEqual({ a: ':::::', b: ['::', ':'] })
  })
})

describe('parseJsonObject: __proto__', () => {
  const texts: [string, string][] = [
    ['top-level', '{"__proto__":{"admin":true}}'],
    ['top-level, as null', '{"__proto__":null}'],
    ['after other members', '{"a":1,"__proto__":{"admin":true}}'],
    ['nested', '{"a":{"__proto__":{"admin":true}}}'],
    ['in an object inside an array', '{"a":[1,{"__proto__":{"admin":true}}]}'],
    ['escaped', String.raw`{"__pro\u0074o__":{"admin":true}}`],
    ['fully escaped and nested', String.raw`{"x":{"\u005f\u005fproto\u005f\u005f":1}}`],
    ['twice', '{"__proto__":1,"__proto__":2}'],
  ]
  it.each(texts)('refuses a __proto__ member, %s', (_name, text) => {
    expect(rejection(text)).toBe('proto_member')
  })

  it('never pollutes Object.prototype', () => {
    for (const [, text] of texts) expect(() => parse(text)).toThrow(JsonRejectedError)
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
  })

  it('accepts names close to __proto__, and __proto__ as a value', () => {
    expect({ ...parse('{"__proto":1,"_proto_":2,"__PROTO__":3,"a":"__proto__"}') }).toEqual({
      __proto: 1,
      _proto_: 2,
      __PROTO__: 3,
      a: '__proto__',
    })
  })
})

describe('parseJsonObject: depth', () => {
  it('accepts nesting exactly at the limit and refuses one level more', () => {
    expect(() => parse(nestedObjects(3), 3)).not.toThrow()
    expect(rejection(nestedObjects(4), 3)).toBe('too_deep')
    expect(() => parse(nestedObjects(DEPTH), DEPTH)).not.toThrow()
    expect(rejection(nestedObjects(DEPTH + 1), DEPTH)).toBe('too_deep')
  })

  it('counts arrays as levels', () => {
    expect(parse('{"a":[[1]]}', 3).a).toEqual([[1]])
    expect(rejection('{"a":[[[1]]]}', 3)).toBe('too_deep')
    expect(rejection('{"a":[{"b":[]}]}', 3)).toBe('too_deep')
  })

  it('measures depth, not the number of containers', () => {
    const wide = `{${Array.from({ length: 200 }, (_, i) => `"k${i}":{"x":[]}`).join(',')}}`
    expect(Object.keys(parse(wide, 3))).toHaveLength(200)
  })

  it('ignores brackets inside strings', () => {
    expect(parse('{"a":"{{{{[[[["}', 1).a).toBe('{{{{[[[[')
    expect(parse(String.raw`{"a":"\"{{{{"}`, 1).a).toBe('"{{{{')
  })

  it('refuses hostile nesting without overflowing the stack', () => {
    expect(rejection('['.repeat(1_000_000))).toBe('too_deep')
    expect(rejection(`{"a":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`)).toBe('too_deep')
  })
})

describe('parseJsonObject: result', () => {
  it('has a null prototype, so nothing inherited can be read', () => {
    const result = parse('{"a":1}')
    expect(Object.getPrototypeOf(result)).toBeNull()
    expect(result.toString).toBeUndefined()
    expect(result.constructor).toBeUndefined()
    expect(result.hasOwnProperty).toBeUndefined()
    expect('valueOf' in result).toBe(false)
  })

  it('keeps members named like Object.prototype methods as plain data', () => {
    const result = parse('{"constructor":{"prototype":{"x":1}},"hasOwnProperty":1,"toString":"s"}')
    expect(result.hasOwnProperty).toBe(1)
    expect(result.toString).toBe('s')
    expect(({} as Record<string, unknown>).x).toBeUndefined()
  })

  it('keeps the values JSON.parse gives', () => {
    const result = parse('{"s":"x","n":-1.5e3,"b":false,"z":null,"a":[1,"2"],"o":{"k":true}}')
    expect({ ...result }).toEqual({ s: 'x', n: -1500, b: false, z: null, a: [1, '2'], o: { k: true } })
  })

  it('reports the rejection in the error message, never the text', () => {
    let caught: unknown
    try {
      parse('{"secret-value":1,"secret-value":2}')
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(JsonRejectedError)
    expect((caught as Error).message).toBe('json rejected: duplicate_member')
  })
})
