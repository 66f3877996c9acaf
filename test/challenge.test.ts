import { describe, expect, it } from 'vitest'
import { buildChallenge } from '../src/index.js'

/** Characters RFC 6750 §3 allows in error and error_description: %x20-21 / %x23-5B / %x5D-7E. */
const ATTRIBUTE_VALUE = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/
/** scope = scope-token *( SP scope-token ), scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_VALUE = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/
/** A header value Node's setHeader and Fetch Headers accept. */
const SENDABLE = /^[\t\x20-\x7E\x80-\xFF]*$/

/** Every character from U+0000 to U+00FF, plus a few beyond. */
const HOSTILE = Array.from({ length: 256 }, (_, code) => String.fromCharCode(code)).join('') + '\u2028\u2029\uFEFF€😀\uD800'

/** The attributes of a challenge built here, parsed back: name → unescaped value. */
function attributes(challenge: string): Record<string, string> {
  expect(challenge.startsWith('Bearer ')).toBe(true)
  const rest = challenge.slice('Bearer '.length)
  const pattern = /([a-z_]+)="((?:[^"\\]|\\.)*)"(?:, |$)/gy
  const result: Record<string, string> = {}
  let consumed = 0
  for (const match of rest.matchAll(pattern)) {
    const [all, name, value] = match
    expect(name !== undefined && value !== undefined).toBe(true)
    expect(Object.hasOwn(result, name as string), `attribute ${name} appears once`).toBe(false)
    result[name as string] = (value as string).replace(/\\(.)/g, '$1')
    consumed += all.length
  }
  expect(consumed, 'the whole challenge parses as attributes').toBe(rest.length)
  return result
}

describe('buildChallenge', () => {
  it('is a bare "Bearer" without parameters', () => {
    expect(buildChallenge({})).toBe('Bearer')
    expect(buildChallenge({ realm: undefined, error: undefined, errorDescription: undefined, scope: undefined })).toBe('Bearer')
  })

  it('writes the attributes in the order realm, error, error_description, scope', () => {
    expect(buildChallenge({ realm: 'api', error: 'insufficient_scope', errorDescription: 'needs more', scope: 'a b' })).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="needs more", scope="a b"',
    )
    expect(buildChallenge({ scope: 'a', error: 'invalid_token' })).toBe('Bearer error="invalid_token", scope="a"')
    expect(buildChallenge({ realm: 'api' })).toBe('Bearer realm="api"')
  })

  it('writes an empty realm as ""', () => {
    expect(buildChallenge({ realm: '' })).toBe('Bearer realm=""')
  })

  it('escapes quotes and backslashes in the realm', () => {
    expect(buildChallenge({ realm: 'a"b\\c' })).toBe('Bearer realm="a\\"b\\\\c"')
    expect(buildChallenge({ realm: '", error="invalid_token' })).toBe('Bearer realm="\\", error=\\"invalid_token"')
    expect(attributes(buildChallenge({ realm: '\\"\\' })).realm).toBe('\\"\\')
  })

  it('drops control characters from the realm', () => {
    expect(buildChallenge({ realm: 'a\r\nWWW-Authenticate: Basic\u0000\t\u007fb' })).toBe('Bearer realm="aWWW-Authenticate: Basicb"')
  })

  it('keeps only printable ascii in the realm, so the header can always be sent', () => {
    expect(buildChallenge({ realm: 'café €😀' })).toBe('Bearer realm="caf "')
    const challenge = buildChallenge({ realm: HOSTILE })
    expect(challenge).toMatch(SENDABLE)
    expect(challenge).toMatch(/^Bearer realm="(?:[\x20\x21\x23-\x5B\x5D-\x7E]|\\["\\])*"$/)
  })

  it('drops quotes, backslashes and characters outside RFC 6750 from error_description', () => {
    expect(buildChallenge({ errorDescription: 'bad "x" \\ here' })).toBe('Bearer error_description="bad x  here"')
    expect(buildChallenge({ errorDescription: 'a\r\nSet-Cookie: x=1' })).toBe('Bearer error_description="aSet-Cookie: x=1"')
    expect(buildChallenge({ errorDescription: '", scope="admin' })).toBe('Bearer error_description=", scope=admin"')
    const { error_description: description } = attributes(buildChallenge({ errorDescription: HOSTILE }))
    expect(description).toMatch(ATTRIBUTE_VALUE)
    expect(description).toBe(HOSTILE.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, ''))
  })

  it('drops quotes, backslashes and characters outside RFC 6750 from scope', () => {
    expect(buildChallenge({ scope: 'read "admin" \\x' })).toBe('Bearer scope="read admin x"')
    expect(buildChallenge({ scope: 'a\tb\nc' })).toBe('Bearer scope="abc"')
    const { scope } = attributes(buildChallenge({ scope: `x ${HOSTILE}` }))
    expect(scope).not.toMatch(/["\\]/)
    expect(scope).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]*$/)
  })

  it('drops quotes and other characters outside RFC 6750 from error', () => {
    expect(buildChallenge({ error: 'invalid_token", scope="admin' })).toBe('Bearer error="invalid_token, scope=admin"')
    expect(buildChallenge({ error: `x${HOSTILE}` })).toMatch(/^Bearer error="[\x20\x21\x23-\x5B\x5D-\x7E]*"$/)
  })

  it('cannot be made to carry extra attributes or header lines', () => {
    const challenge = buildChallenge({
      realm: 'r", error="x',
      error: 'invalid_token", x="y',
      errorDescription: 'd", scope="admin',
      scope: 's", realm="evil',
    })
    expect(Object.keys(attributes(challenge))).toEqual(['realm', 'error', 'error_description', 'scope'])
    expect(challenge).toMatch(SENDABLE)
    expect(challenge).not.toMatch(/[\r\n]/)
  })

  it('keeps a well-formed scope list as is', () => {
    const scope = 'read:users write:users https://api.example.com/admin openid'
    expect(attributes(buildChallenge({ scope })).scope).toBe(scope)
    expect(scope).toMatch(SCOPE_VALUE)
  })
})
