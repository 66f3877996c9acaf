import { describe, expect, it } from 'vitest'
import { authenticateRequest, BearerError, createVerifier, extractToken, InvalidRequestError, InvalidTokenError, MissingTokenError, type RequestLike, type TokenLocation } from '../src/index.js'
import { AUDIENCE, ISSUER, jwksOf, makeKey, signToken } from './helpers.js'

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl'
const FORM = 'application/x-www-form-urlencoded'
const HEADER_ONLY: ReadonlySet<TokenLocation> = new Set(['header'])
const EVERYWHERE: ReadonlySet<TokenLocation> = new Set(['header', 'query', 'body'])

function caught(request: RequestLike, locations: ReadonlySet<TokenLocation>): unknown {
  try {
    return { accepted: extractToken(request, locations) }
  } catch (error) {
    return error
  }
}

function expectMissing(request: RequestLike, locations = HEADER_ONLY): void {
  const error = caught(request, locations)
  expect(error).toBeInstanceOf(MissingTokenError)
  expect((error as MissingTokenError).code).toBe('credentials_missing')
  expect((error as MissingTokenError).status).toBe(401)
  expect((error as MissingTokenError).error).toBeNull()
  expect((error as MissingTokenError).wwwAuthenticate).toBe('Bearer')
}

function expectInvalid(request: RequestLike, code: 'credentials_malformed' | 'credentials_duplicated', locations = HEADER_ONLY): void {
  const error = caught(request, locations)
  expect(error).toBeInstanceOf(InvalidRequestError)
  expect((error as InvalidRequestError).code).toBe(code)
  expect((error as InvalidRequestError).status).toBe(400)
  expect((error as InvalidRequestError).error).toBe('invalid_request')
}

/** Authorization values a request must be refused for with 400 credentials_malformed. */
const MALFORMED_HEADERS: [string, string][] = [
  ['no credentials', 'Bearer'],
  ['no credentials after a space', 'Bearer '],
  ['no credentials after several spaces', 'Bearer     '],
  ['a tab instead of a space', `Bearer\t${TOKEN}`],
  ['two tokens', 'Bearer a b'],
  ['a token followed by a parameter', `Bearer ${TOKEN}, error="x"`],
  ['auth-params instead of a token', 'Bearer realm="example"'],
  ['a comma-separated list', 'Bearer a,b'],
  ['"=" inside the token', 'Bearer a=b'],
  ['only "="', 'Bearer ='],
  ['a leading "="', 'Bearer =abc'],
  ['a quoted token', `Bearer "${TOKEN}"`],
  ['a non-ascii character', `Bearer ${TOKEN}é`],
  ['a NUL character', `Bearer ${TOKEN}\u0000`],
  ['a line break inside the token', 'Bearer abc\ndef'],
  ['a percent-encoded token', 'Bearer abc%3D'],
  ['a semicolon', `Bearer ${TOKEN};`],
  ['the scheme twice', `Bearer Bearer ${TOKEN}`],
]

function withAuthorization(value: string | readonly string[] | undefined): RequestLike {
  return { headers: { authorization: value } }
}

describe('extractToken: the Authorization header', () => {
  it.each([
    ['Bearer', `Bearer ${TOKEN}`],
    ['lower-case scheme', `bearer ${TOKEN}`],
    ['upper-case scheme', `BEARER ${TOKEN}`],
    ['mixed-case scheme', `BeArEr ${TOKEN}`],
    ['several spaces', `Bearer    ${TOKEN}`],
    ['trailing spaces', `Bearer ${TOKEN}   `],
    ['leading spaces', `   Bearer ${TOKEN}`],
    ['a trailing tab (optional whitespace)', `Bearer ${TOKEN}\t`],
  ])('accepts %s', (_name, value) => {
    expect(extractToken(withAuthorization(value), HEADER_ONLY)).toBe(TOKEN)
  })

  it('trims only spaces and tabs around the value, not other white space', () => {
    expect(extractToken(withAuthorization(` \t Bearer ${TOKEN} \t `), HEADER_ONLY)).toBe(TOKEN)
    for (const space of ['\u00a0', '\ufeff', '\u2003', '\n', '\r', '\u000b', '\f']) {
      expectInvalid(withAuthorization(`${space}Bearer ${TOKEN}`), 'credentials_malformed')
      expectInvalid(withAuthorization(`Bearer ${TOKEN}${space}`), 'credentials_malformed')
      expectInvalid(withAuthorization(`Bearer${space}${TOKEN}`), 'credentials_malformed')
      expectMissing(withAuthorization(`${space}Basic dXNlcjpwYXNz`))
    }
  })

  it('accepts every b64token character, with trailing "=" padding', () => {
    const token = 'AZaz09-._~+/=='
    expect(extractToken(withAuthorization(`Bearer ${token}`), HEADER_ONLY)).toBe(token)
    expect(extractToken(withAuthorization('Bearer x='), HEADER_ONLY)).toBe('x=')
  })

  it.each(MALFORMED_HEADERS)('refuses %s as 400 credentials_malformed', (_name, value) => {
    expectInvalid(withAuthorization(value), 'credentials_malformed')
  })

  it.each([
    ['Basic', 'Basic dXNlcjpwYXNzd29yZA=='],
    ['Token', `Token ${TOKEN}`],
    ['DPoP', `DPoP ${TOKEN}`],
    ['a scheme that starts with Bearer', `Bearerx ${TOKEN}`],
    ['Bearer glued to the token', `Bearer${TOKEN}`],
    ['a bare token', TOKEN],
    ['an empty value', ''],
    ['only spaces', '   '],
  ])('treats %s as no bearer token (401 without error)', (_name, value) => {
    expectMissing(withAuthorization(value))
  })

  it('treats a request without the header as missing', () => {
    expectMissing({ headers: {} })
    expectMissing(withAuthorization(undefined))
    expectMissing(withAuthorization([]))
    expectMissing({ headers: new Headers() })
  })

  it('takes the single value of a headersDistinct array', () => {
    expect(extractToken(withAuthorization([`Bearer ${TOKEN}`]), HEADER_ONLY)).toBe(TOKEN)
  })

  it.each([
    ['two bearer tokens', [`Bearer ${TOKEN}`, 'Bearer other']],
    ['the same bearer token twice', [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]],
    ['a bearer token and basic credentials', [`Bearer ${TOKEN}`, 'Basic dXNlcjpwYXNz']],
    ['basic credentials and a bearer token', ['Basic dXNlcjpwYXNz', `Bearer ${TOKEN}`]],
    ['two empty values', ['', '']],
  ])('refuses repeated headers (%s) as 400 credentials_duplicated', (_name, values) => {
    expectInvalid(withAuthorization(values), 'credentials_duplicated')
  })

  it('reads a capitalized Authorization key of a plain record', () => {
    expect(extractToken({ headers: { Authorization: `Bearer ${TOKEN}` } }, HEADER_ONLY)).toBe(TOKEN)
    expectInvalid({ headers: { Authorization: ['Bearer a', 'Bearer b'] } }, 'credentials_duplicated')
  })

  it('refuses a plain record that carries both spellings of Authorization', () => {
    expectInvalid({ headers: { authorization: `Bearer ${TOKEN}`, Authorization: 'Bearer other' } }, 'credentials_duplicated')
    expectInvalid({ headers: { authorization: 'Basic dXNlcjpwYXNz', Authorization: `Bearer ${TOKEN}` } }, 'credentials_duplicated')
  })

  it('reads one value seen under both spellings (a case-insensitive record) as one header', () => {
    const values: Record<string, string> = { authorization: `Bearer ${TOKEN}` }
    const headers = new Proxy(values, { get: (target, name) => (typeof name === 'string' ? target[name.toLowerCase()] : undefined) })
    expect(extractToken({ headers }, HEADER_ONLY)).toBe(TOKEN)
  })
})

describe('extractToken: a Fetch Headers object', () => {
  it('reads the header case-insensitively', () => {
    expect(extractToken({ headers: new Headers({ AUTHORIZATION: `bearer ${TOKEN}` }) }, HEADER_ONLY)).toBe(TOKEN)
  })

  it('refuses repeated bearer headers, which Headers joins with ", "', () => {
    const headers = new Headers()
    headers.append('authorization', `Bearer ${TOKEN}`)
    headers.append('authorization', 'Bearer other')
    expect(headers.get('authorization')).toBe(`Bearer ${TOKEN}, Bearer other`)
    expectInvalid({ headers }, 'credentials_duplicated')
  })

  it('refuses the same bearer header twice', () => {
    const headers = new Headers([
      ['authorization', `Bearer ${TOKEN}`],
      ['Authorization', `Bearer ${TOKEN}`],
    ])
    expectInvalid({ headers }, 'credentials_duplicated')
  })

  it('refuses a bearer header joined after other credentials as 400 credentials_duplicated', () => {
    const headers = new Headers([
      ['authorization', 'Basic dXNlcjpwYXNz'],
      ['authorization', `Bearer ${TOKEN}`],
    ])
    expectInvalid({ headers }, 'credentials_duplicated')
    expectInvalid({ headers: new Headers({ authorization: `Digest a="1",  bearer\t${TOKEN}` }) }, 'credentials_duplicated')
  })

  it('refuses Bearer credentials joined after others with any white space', () => {
    expectInvalid({ headers: new Headers([['authorization', 'Basic x'], ['authorization', '\u00a0Bearer garbage']]) }, 'credentials_duplicated')
  })

  it('still reads other credentials with commas as no bearer token, quoted ", Bearer" included', () => {
    expectMissing({ headers: new Headers({ authorization: 'Digest username="a", realm="b, c", nonce="Bearerx"' }) })
    expectMissing({ headers: new Headers({ authorization: 'Digest username="u", realm="api, Bearer zone", qop="a\\"b, Bearer c"' }) })
  })

  it('refuses the same joined value from a plain record (a proxy that joined two headers)', () => {
    expectInvalid(withAuthorization(`Basic dXNlcjpwYXNz, Bearer ${TOKEN}`), 'credentials_duplicated')
    expectInvalid({ rawHeaders: ['Authorization', `Basic dXNlcjpwYXNz,Bearer ${TOKEN}`] }, 'credentials_duplicated')
  })
})

describe('extractToken: the query location', () => {
  const query = (url: string): RequestLike => ({ method: 'GET', url, headers: {} })

  it('ignores access_token in the query by default', () => {
    expectMissing(query(`/items?access_token=${TOKEN}`))
  })

  it('takes access_token from the query when enabled, percent-decoded', () => {
    const locations = new Set<TokenLocation>(['query'])
    expect(extractToken(query(`/items?access_token=${TOKEN}`), locations)).toBe(TOKEN)
    expect(extractToken(query(`/items?a=1&access_token=${TOKEN}&b=2`), locations)).toBe(TOKEN)
    expect(extractToken(query('/items?access_token=a%2Bb%2F%3D'), locations)).toBe('a+b/=')
  })

  it('finds a parameter name that is percent-encoded', () => {
    const locations = new Set<TokenLocation>(['query'])
    expect(extractToken(query(`/items?access%5Ftoken=${TOKEN}`), locations)).toBe(TOKEN)
    expect(extractToken(query(`/items?%61ccess_token=${TOKEN}`), locations)).toBe(TOKEN)
    expectInvalid({ ...query(`/items?%61ccess%5ftoken=${TOKEN}`), headers: { authorization: `Bearer ${TOKEN}` } }, 'credentials_duplicated')
  })

  it('matches the parameter name exactly', () => {
    const locations = new Set<TokenLocation>(['query'])
    expectMissing(query(`/items?Access_Token=${TOKEN}`), locations)
    expectMissing(query(`/items?access_tokens=${TOKEN}`), locations)
    expectMissing(query(`/items?x=access_token`), locations)
    expectMissing(query(`/access_token/${TOKEN}`), locations)
  })

  it('refuses two access_token parameters, enabled or not', () => {
    const url = `/items?access_token=${TOKEN}&access_token=other`
    expectInvalid(query(url), 'credentials_duplicated', new Set(['query']))
    expectInvalid(query(url), 'credentials_duplicated', HEADER_ONLY)
    expectInvalid(query(`/items?access_token=${TOKEN}&access_token=${TOKEN}`), 'credentials_duplicated', new Set(['query']))
  })

  it('refuses an empty access_token parameter', () => {
    const locations = new Set<TokenLocation>(['query'])
    expectInvalid(query('/items?access_token='), 'credentials_malformed', locations)
    expectInvalid(query('/items?access_token'), 'credentials_malformed', locations)
  })

  it('refuses a header and a query token together, even with the query location disabled', () => {
    const request: RequestLike = { method: 'GET', url: `/items?access_token=${TOKEN}`, headers: { authorization: `Bearer ${TOKEN}` } }
    expectInvalid(request, 'credentials_duplicated', HEADER_ONLY)
    expectInvalid(request, 'credentials_duplicated', EVERYWHERE)
    expectInvalid({ ...request, url: '/items?access_token=' }, 'credentials_duplicated', HEADER_ONLY)
  })

  it('takes the header token when the query has no access_token', () => {
    const request: RequestLike = { method: 'GET', url: '/items?token=x&access=y', headers: { authorization: `Bearer ${TOKEN}` } }
    expect(extractToken(request, EVERYWHERE)).toBe(TOKEN)
  })
})

describe('extractToken: the body location', () => {
  const BODY = new Set<TokenLocation>(['body'])
  const form = (body: unknown, headers: RequestLike['headers'] = { 'content-type': FORM }, method = 'POST'): RequestLike => ({
    method,
    url: '/items',
    headers,
    body,
  })

  it('takes access_token from a form body when enabled', () => {
    expect(extractToken(form({ access_token: TOKEN, other: 'x' }), BODY)).toBe(TOKEN)
    expect(extractToken(form({ access_token: TOKEN }, { 'content-type': `${FORM}; charset=utf-8` }), BODY)).toBe(TOKEN)
    expect(extractToken(form({ access_token: TOKEN }, { 'content-type': FORM.toUpperCase() }), BODY)).toBe(TOKEN)
    expect(extractToken(form({ access_token: TOKEN }, { 'content-type': [FORM] }), BODY)).toBe(TOKEN)
    expect(extractToken(form({ access_token: TOKEN }, new Headers({ 'Content-Type': FORM })), BODY)).toBe(TOKEN)
    expect(extractToken(form({ access_token: TOKEN }, { 'content-type': FORM }, 'put'), BODY)).toBe(TOKEN)
  })

  it('reads the conventional Content-Type spelling of a plain record', () => {
    expect(extractToken(form({ access_token: TOKEN }, { 'Content-Type': FORM }), BODY)).toBe(TOKEN)
    expectInvalid(form({ access_token: TOKEN }, { 'Content-Type': FORM, Authorization: `Bearer ${TOKEN}` }), 'credentials_duplicated')
  })

  it('refuses an access_token field that is not a string, whether or not the body location is enabled', () => {
    for (const value of [{ toString: 'x' }, Object.create(null), 42, [TOKEN, { a: 1 }], null]) {
      expectInvalid(form({ access_token: value }), 'credentials_malformed')
      expect(() => extractToken(form({ access_token: value }), BODY)).toThrow(InvalidRequestError)
    }
  })

  it('never reads the body of a GET or HEAD request', () => {
    for (const method of ['GET', 'get', 'HEAD', 'head']) {
      expect(() => extractToken(form({ access_token: TOKEN }, { 'content-type': FORM }, method), BODY)).toThrow(MissingTokenError)
    }
  })

  it('ignores the body location by default', () => {
    expectMissing(form({ access_token: TOKEN }))
  })

  it.each([
    ['a JSON content type', { 'content-type': 'application/json' }, 'POST'],
    ['no content type', {}, 'POST'],
    ['multipart form data', { 'content-type': 'multipart/form-data; boundary=x' }, 'POST'],
    ['a look-alike content type', { 'content-type': `${FORM}-evil` }, 'POST'],
    ['a content type with a prefix', { 'content-type': `text/plain, ${FORM}` }, 'POST'],
    ['a GET request', { 'content-type': FORM }, 'GET'],
    ['a lower-case get request', { 'content-type': FORM }, 'get'],
  ])('ignores the body with %s', (_name, headers, method) => {
    expectMissing(form({ access_token: TOKEN }, headers, method), BODY)
  })

  it('ignores the body without a method', () => {
    expectMissing({ headers: { 'content-type': FORM }, body: { access_token: TOKEN } }, BODY)
  })

  it('does not count a JSON body as a second token', () => {
    const request: RequestLike = {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: { access_token: 'other' },
    }
    expect(extractToken(request, EVERYWHERE)).toBe(TOKEN)
  })

  it('ignores an inherited access_token and bodies that are not objects', () => {
    expectMissing(form(Object.create({ access_token: TOKEN })), BODY)
    expectMissing(form(`access_token=${TOKEN}`), BODY)
    expectMissing(form(null), BODY)
    expectMissing(form(undefined), BODY)
  })

  it('accepts a body without a prototype', () => {
    const body = Object.assign(Object.create(null) as Record<string, unknown>, { access_token: TOKEN })
    expect(extractToken(form(body), BODY)).toBe(TOKEN)
  })

  it('refuses repeated or empty access_token fields', () => {
    expectInvalid(form({ access_token: [TOKEN, 'other'] }), 'credentials_duplicated', BODY)
    expectInvalid(form({ access_token: [TOKEN, 'other'] }), 'credentials_duplicated', HEADER_ONLY)
    expectInvalid(form({ access_token: '' }), 'credentials_malformed', BODY)
  })

  it('refuses a header and a body token together, even with the body location disabled', () => {
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': FORM }
    expectInvalid(form({ access_token: TOKEN }, headers), 'credentials_duplicated', HEADER_ONLY)
    expectInvalid(form({ access_token: TOKEN }, headers), 'credentials_duplicated', EVERYWHERE)
  })

  it('refuses a query and a body token together', () => {
    const request: RequestLike = { ...form({ access_token: TOKEN }), url: `/items?access_token=${TOKEN}` }
    expectInvalid(request, 'credentials_duplicated', EVERYWHERE)
  })
})

describe('extractToken: locations', () => {
  it('ignores a header token when only other locations are enabled', () => {
    expectMissing(withAuthorization(`Bearer ${TOKEN}`), new Set(['query', 'body']))
  })

  it('still refuses a malformed Bearer header when the header location is disabled', () => {
    expectInvalid(withAuthorization('Bearer a b'), 'credentials_malformed', new Set(['query']))
  })

  it('throws only bearer-guard errors, never the token', () => {
    for (const value of [`Bearer ${TOKEN} x`, [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`], 'Basic abc']) {
      const error = caught(withAuthorization(value), HEADER_ONLY)
      expect(error).toBeInstanceOf(BearerError)
      expect((error as BearerError).message).not.toContain(TOKEN)
      expect((error as BearerError).wwwAuthenticate).not.toContain(TOKEN)
    }
  })
})

describe('extractToken: rawHeaders', () => {
  const raw = (...authorizations: string[]): string[] => ['Host', 'api.example.com', ...authorizations.flatMap((value, i) => [i % 2 === 0 ? 'Authorization' : 'authorization', value]), 'Accept', '*/*']

  it('takes the token from the one Authorization header of rawHeaders', () => {
    expect(extractToken({ rawHeaders: raw(`Bearer ${TOKEN}`) }, HEADER_ONLY)).toBe(TOKEN)
    expect(extractToken({ rawHeaders: ['AUTHORIZATION', `bearer ${TOKEN}`] }, HEADER_ONLY)).toBe(TOKEN)
  })

  it('reads rawHeaders instead of headers when both are given', () => {
    expect(extractToken({ headers: { authorization: 'Bearer other' }, rawHeaders: raw(`Bearer ${TOKEN}`) }, HEADER_ONLY)).toBe(TOKEN)
    expectMissing({ headers: { authorization: `Bearer ${TOKEN}` }, rawHeaders: [] })
  })

  it('refuses a repeated Authorization header (which Node keeps once in headers), in any letter case', () => {
    expectInvalid({ headers: { authorization: `Bearer ${TOKEN}` }, rawHeaders: raw(`Bearer ${TOKEN}`, 'Bearer other') }, 'credentials_duplicated')
    expectInvalid({ rawHeaders: ['AUTHORIZATION', 'Basic dXNlcjpwYXNz', 'Authorization', `Bearer ${TOKEN}`] }, 'credentials_duplicated')
  })

  it('ignores headers whose names only look alike, and a name without a value', () => {
    const rawHeaders = ['Authorization', `Bearer ${TOKEN}`, 'Authorization2', 'x', 'Proxy-Authorization', 'Basic abc', 'authorizatio', 'y', 'authorization']
    expect(extractToken({ rawHeaders }, HEADER_ONLY)).toBe(TOKEN)
  })

  it('skips entries that are not strings (a hand-made array), without throwing', () => {
    const rawHeaders = ['Authorization', undefined, 42, `Bearer ${TOKEN}`, 'authorization', `Bearer ${TOKEN}`] as unknown as string[]
    expect(extractToken({ rawHeaders }, HEADER_ONLY)).toBe(TOKEN)
  })

  it('reads the content type of a form body from rawHeaders', () => {
    const request: RequestLike = { method: 'POST', rawHeaders: ['Content-Type', FORM], body: { access_token: TOKEN } }
    expect(extractToken(request, new Set(['body']))).toBe(TOKEN)
    expectMissing({ ...request, rawHeaders: ['Content-Type', 'application/json'] }, new Set(['body']))
  })
})

describe('Verifier.authenticate: header grammar checked when verification fails', () => {
  const key = makeKey('RS256')
  const valid = signToken(key)
  let fetches = 0
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: 'https://issuer.example.com/jwks',
    fetch: () => {
      fetches++
      return Promise.resolve(Response.json(jwksOf(key)))
    },
  })

  async function outcome(authorization: string): Promise<unknown> {
    return verifier.authenticate({ headers: { authorization } }).then(
      (result) => ({ accepted: result.payload }),
      (error: unknown) => error,
    )
  }

  it.each([
    ...MALFORMED_HEADERS,
    ['junk after a valid token', `Bearer ${valid} x`],
    ['a non-ascii character after a valid token', `Bearer ${valid}é`],
    ['a semicolon after a valid token', `Bearer ${valid};`],
    ['"=" inside a valid token', `Bearer ${valid.replace('.', '=.')}`],
    ['a quoted valid token', `Bearer "${valid}"`],
    ['a no-break space after a valid token', `Bearer ${valid}\u00a0`],
    ['a line feed before the scheme', `\nBearer ${valid}`],
  ])('answers %s 400 credentials_malformed, before any key fetch', async (_name, value) => {
    fetches = 0
    const error = await outcome(value)
    expect(error).toBeInstanceOf(InvalidRequestError)
    expect(error).toMatchObject({ code: 'credentials_malformed', status: 400 })
    expect(fetches).toBe(0)
  })

  it('answers b64token characters that are not a valid JWS 401 invalid_token', async () => {
    for (const value of ['Bearer abc~def', `Bearer ${valid}~`, `Bearer ${valid}==`, 'Bearer a+b/c']) {
      const error = await outcome(value)
      expect(error).toBeInstanceOf(InvalidTokenError)
      expect(error).toMatchObject({ code: 'token_malformed', status: 401 })
    }
  })

  it('verifies a well-formed token, with one key fetch', async () => {
    fetches = 0
    expect(await outcome(`Bearer   ${valid}`)).toMatchObject({ accepted: { iss: ISSUER } })
    expect(fetches).toBe(1)
  })
})

describe('Verifier.authenticate: strict reading on every failure', () => {
  const key = makeKey('ES256')
  const valid = signToken(key)
  const options = { issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(key) }

  it('answers a malformed header 400 where the header is not an enabled location, also in optional mode', async () => {
    const verifier = createVerifier({ ...options, tokenLocations: ['query'] })
    const request = { headers: { authorization: 'Bearer a b' } }
    await expect(verifier.authenticate(request)).rejects.toMatchObject({ code: 'credentials_malformed', status: 400 })
    await expect(authenticateRequest(verifier, request, { optional: true })).rejects.toMatchObject({ code: 'credentials_malformed' })
    // A well-formed header in a disabled location is no credential: anonymous in optional mode.
    await expect(authenticateRequest(verifier, { headers: { authorization: `Bearer ${valid}` } }, { optional: true })).resolves.toBeUndefined()
  })

  it('answers a malformed header next to a query token 400 credentials_malformed, as extractToken does', async () => {
    const verifier = createVerifier({ ...options, tokenLocations: ['header', 'query'] })
    const request = { url: `/r?access_token=${valid}`, headers: { authorization: 'Bearer a b' } }
    await expect(verifier.authenticate(request)).rejects.toMatchObject({ code: 'credentials_malformed' })
  })

  it('answers a malformed header 400 after the same token was cached', async () => {
    const verifier = createVerifier({ ...options, tokenCacheSize: 8 })
    const first = await verifier.authenticate({ headers: { authorization: `Bearer ${valid}` } })
    expect(await verifier.authenticate({ headers: { authorization: `Bearer ${valid}` } })).toBe(first)
    await expect(verifier.authenticate({ headers: { authorization: `Bearer ${valid} x` } })).rejects.toMatchObject({ code: 'credentials_malformed' })
    await expect(verifier.authenticate({ headers: { authorization: `Bearer ${valid};` } })).rejects.toMatchObject({ code: 'credentials_malformed' })
  })
})
