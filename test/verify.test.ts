import { createHmac, createSecretKey } from 'node:crypto'
import { inspect } from 'node:util'
import { describe, expect, it, vi } from 'vitest'
import { checkScopes, createVerifier, InsufficientScopeError, MissingTokenError, type AsymmetricAlgorithm, type InvalidTokenCode, type VerifierOptions } from '../src/index.js'
import { AUDIENCE, b64url, claims, ISSUER, jwksOf, makeKey, signToken, type TestKey } from './helpers.js'
import { expectCode } from './support/assertions.js'

const ALGORITHMS: AsymmetricAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']
const rsa = makeKey('RS256')
const ec = makeKey('ES256')

function verifierFor(keys: TestKey[], options: Partial<VerifierOptions> = {}) {
  return createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(...keys), ...options })
}

describe('verify: valid tokens', () => {
  it.each(ALGORITHMS)('accepts a valid %s token and returns header, claims and scopes', async (alg) => {
    const key = makeKey(alg)
    const verifier = verifierFor([key])
    const token = signToken(key, claims({ scope: 'read:users write:users' }))
    const result = await verifier.verify(token)
    expect(result.token).toBe(token)
    expect(result.header).toMatchObject({ alg, kid: key.kid, typ: 'at+jwt' })
    expect(result.payload).toMatchObject({ iss: ISSUER, aud: AUDIENCE, sub: 'user-1' })
    expect(result.scopes).toEqual(['read:users', 'write:users'])
  })

  it('picks the key by kid among several', async () => {
    const other = makeKey('RS256', 'other')
    const verifier = verifierFor([other, rsa, ec])
    await expect(verifier.verify(signToken(ec))).resolves.toBeDefined()
    await expect(verifier.verify(signToken(rsa))).resolves.toBeDefined()
  })

  it('uses the only fitting key for a token without kid, and refuses when several fit', async () => {
    const token = signToken(rsa, claims(), { header: { kid: undefined } })
    await expect(verifierFor([rsa, ec]).verify(token)).resolves.toBeDefined()
    await expectCode(verifierFor([rsa, makeKey('RS256', 'second')]).verify(token), 'key_not_found')
  })

  it('accepts an aud array that contains the audience, and any of several configured audiences', async () => {
    const verifier = verifierFor([rsa], { audience: ['https://other.example.com', AUDIENCE] })
    await expect(verifier.verify(signToken(rsa, claims({ aud: ['x', AUDIENCE] })))).resolves.toBeDefined()
  })

  it('accepts typ JWT, application/at+jwt and no typ in the default mode', async () => {
    const verifier = verifierFor([rsa])
    for (const typ of ['JWT', 'jwt', 'application/at+jwt', 'AT+JWT', undefined]) {
      await expect(verifier.verify(signToken(rsa, claims(), { header: { typ } }))).resolves.toBeDefined()
    }
  })

  it('returns a payload without a prototype, so nothing inherited can be read', async () => {
    const { payload, header } = await verifierFor([rsa]).verify(signToken(rsa))
    expect(Object.getPrototypeOf(payload)).toBeNull()
    expect(Object.getPrototypeOf(header)).toBeNull()
    expect((payload as Record<string, unknown>).toString).toBeUndefined()
  })

  it('reads scopes from scope and scp (array or string) without duplicates', async () => {
    const verifier = verifierFor([rsa])
    const a = await verifier.verify(signToken(rsa, claims({ scope: 'a  b', scp: ['b', 'c'] })))
    expect(a.scopes).toEqual(['a', 'b', 'c'])
    const b = await verifier.verify(signToken(rsa, claims({ scope: undefined, scp: 'x y' })))
    expect(b.scopes).toEqual(['x', 'y'])
  })
})

describe('verify: signature', () => {
  it('rejects a token whose payload was changed after signing', async () => {
    const token = signToken(rsa)
    const [h, , s] = token.split('.')
    const forged = `${h}.${b64url(JSON.stringify(claims({ sub: 'admin' })))}.${s}`
    await expectCode(verifierFor([rsa]).verify(forged), 'signature_invalid')
  })

  it('rejects a token signed by another key with the same kid', async () => {
    const impostor = { ...makeKey('RS256', 'impostor'), kid: rsa.kid }
    await expectCode(verifierFor([rsa]).verify(signToken(impostor)), 'signature_invalid')
  })

  it('reports a bad signature, not expiry, for a token that is both expired and forged', async () => {
    const token = signToken(rsa, claims({ exp: 1000, iat: 900 }))
    const forged = `${token.slice(0, -4)}AAAA`
    await expectCode(verifierFor([rsa]).verify(forged), 'signature_invalid')
  })

  it('rejects a PS256 signature made with a salt shorter than the digest', async () => {
    const { sign, constants } = await import('node:crypto')
    const key = makeKey('PS256')
    const input = `${b64url(JSON.stringify({ alg: 'PS256', kid: key.kid }))}.${b64url(JSON.stringify(claims()))}`
    const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 0 })
    await expectCode(verifierFor([key]).verify(`${input}.${b64url(signature)}`), 'signature_invalid')
  })

  it('rejects ECDSA signatures in DER form and of the wrong length', async () => {
    const { sign } = await import('node:crypto')
    const input = `${b64url(JSON.stringify({ alg: 'ES256', kid: ec.kid }))}.${b64url(JSON.stringify(claims()))}`
    const der = sign('sha256', Buffer.from(input), ec.privateKey)
    await expectCode(verifierFor([ec]).verify(`${input}.${b64url(der)}`), 'signature_invalid')
    const good = signToken(ec)
    await expectCode(verifierFor([ec]).verify(`${good}AAAA`), 'signature_invalid')
  })
})

describe('verify: algorithms and keys', () => {
  it('rejects alg none, in any spelling, with or without a signature', async () => {
    const verifier = verifierFor([rsa])
    const payload = b64url(JSON.stringify(claims()))
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const header = b64url(JSON.stringify({ alg, kid: rsa.kid }))
      await expectCode(verifier.verify(`${header}.${payload}.c2ln`), 'algorithm_not_allowed')
      await expectCode(verifier.verify(`${header}.${payload}.`), 'token_malformed')
    }
  })

  it('treats alg case-sensitively', async () => {
    await expectCode(verifierFor([rsa]).verify(signToken(rsa, claims(), { header: { alg: 'rs256' } })), 'algorithm_not_allowed')
  })

  it('rejects an algorithm outside the configured allow-list', async () => {
    await expectCode(verifierFor([rsa, ec], { algorithms: ['ES256'] }).verify(signToken(rsa)), 'algorithm_not_allowed')
  })

  it('never verifies HMAC with a public key (algorithm confusion)', async () => {
    const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' })
    const input = `${b64url(JSON.stringify({ alg: 'HS256', kid: rsa.kid }))}.${b64url(JSON.stringify(claims()))}`
    const mac = createHmac('sha256', pem).update(input).digest()
    const token = `${input}.${b64url(mac)}`
    await expectCode(verifierFor([rsa]).verify(token), 'algorithm_not_allowed')
    const withSecret = verifierFor([rsa], { secret: 'a'.repeat(32) })
    await expectCode(withSecret.verify(token), 'signature_invalid')
  })

  it('verifies HS256 tokens with the configured secret only', async () => {
    const secret = 'correct horse battery staple, long enough'
    const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'at+jwt' }))}.${b64url(JSON.stringify(claims()))}`
    const token = `${input}.${b64url(createHmac('sha256', secret).update(input).digest())}`
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, secret, algorithms: ['HS256'] })
    await expect(verifier.verify(token)).resolves.toBeDefined()
    const wrong = createVerifier({ issuer: ISSUER, audience: AUDIENCE, secret: createSecretKey(Buffer.alloc(32, 1)), algorithms: ['HS256'] })
    await expectCode(wrong.verify(token), 'signature_invalid')
  })

  it('rejects a kid that is unknown, or a key of another type than the alg', async () => {
    await expectCode(verifierFor([rsa]).verify(signToken(makeKey('RS256', 'unpublished'))), 'key_not_found')
    const mislabelled = signToken(rsa, claims(), { header: { kid: ec.kid } })
    await expectCode(verifierFor([rsa, ec]).verify(mislabelled), 'key_unusable')
  })

  it('refuses a key whose JWK alg differs from the token alg', async () => {
    const ps = makeKey('PS256', 'pinned-rs')
    const pinned = { ...ps, jwk: { ...ps.jwk, alg: 'RS256' } }
    await expectCode(verifierFor([pinned]).verify(signToken(ps)), 'key_unusable')
  })

  it('skips keys marked for encryption or without the verify operation', async () => {
    const enc = { ...rsa, jwk: { ...rsa.jwk, use: 'enc' } }
    await expectCode(verifierFor([enc, ec]).verify(signToken(rsa)), 'key_not_found')
    const ops = { ...rsa, jwk: { ...rsa.jwk, use: undefined, key_ops: ['encrypt'] } }
    await expectCode(verifierFor([ops, ec]).verify(signToken(rsa)), 'key_not_found')
  })

  it('ignores keys embedded in the token (jwk, jku, x5u, x5c)', async () => {
    const attacker = makeKey('RS256', 'attacker')
    const token = signToken(attacker, claims(), {
      header: { kid: undefined, jwk: attacker.jwk, jku: 'https://evil.example/jwks', x5u: 'https://evil.example/x5u', x5c: ['AAAA'] },
    })
    await expectCode(verifierFor([ec]).verify(token), 'key_not_found')
    const sameKid = signToken(attacker, claims(), { header: { kid: rsa.kid, jwk: attacker.jwk } })
    await expectCode(verifierFor([rsa]).verify(sameKid), 'signature_invalid')
  })

  it('rejects a non-string kid, crit, and b64 false', async () => {
    const verifier = verifierFor([rsa])
    await expectCode(verifier.verify(signToken(rsa, claims(), { header: { kid: 7 } })), 'header_invalid')
    await expectCode(verifier.verify(signToken(rsa, claims(), { header: { crit: ['exp'], exp: 1 } })), 'header_invalid')
    await expectCode(verifier.verify(signToken(rsa, claims(), { header: { b64: false, crit: ['b64'] } })), 'header_invalid')
    await expectCode(verifier.verify(signToken(rsa, claims(), { header: { b64: false } })), 'header_invalid')
  })

  it('rejects RSA keys shorter than 2048 bits', async () => {
    const { generateKeyPairSync } = await import('node:crypto')
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const weak: TestKey = { alg: 'RS256', kid: 'weak', privateKey, publicKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid: 'weak' } }
    await expectCode(verifierFor([weak]).verify(signToken(weak)), 'key_set_unavailable')
  })
})

describe('verify: claims', () => {
  const verifier = verifierFor([rsa])
  const now = () => Math.floor(Date.now() / 1000)
  const cases: [string, Record<string, unknown>, InvalidTokenCode][] = [
    ['expired', { exp: now() - 60 }, 'token_expired'],
    ['missing exp', { exp: undefined }, 'claim_missing'],
    ['string exp', { exp: String(now() + 60) }, 'claim_invalid'],
    ['not yet valid', { nbf: now() + 60 }, 'token_not_yet_valid'],
    ['issued in the future', { iat: now() + 60 }, 'token_issued_in_future'],
    ['wrong issuer', { iss: 'https://evil.example.com/' }, 'issuer_mismatch'],
    ['issuer differing by a trailing slash', { iss: ISSUER.slice(0, -1) }, 'issuer_mismatch'],
    ['missing issuer', { iss: undefined }, 'issuer_mismatch'],
    ['wrong audience', { aud: 'https://other.example.com' }, 'audience_mismatch'],
    ['audience array without ours', { aud: ['a', 'b'] }, 'audience_mismatch'],
    ['missing audience', { aud: undefined }, 'audience_mismatch'],
    ['empty audience array', { aud: [] }, 'claim_invalid'],
    ['numeric sub', { sub: 42 }, 'claim_invalid'],
    ['array scope', { scope: ['a'] }, 'claim_invalid'],
  ]
  it.each(cases)('rejects a token with %s', async (_name, overrides, code) => {
    await expectCode(verifier.verify(signToken(rsa, claims(overrides))), code)
  })

  it('rejects exp written as a huge number (Infinity after parsing)', async () => {
    const raw = JSON.stringify(claims()).replace(/"exp":\d+/, '"exp":1e400')
    await expectCode(verifier.verify(signToken(rsa, {}, { rawPayload: raw })), 'claim_invalid')
  })

  it('applies the clock tolerance to exp and nbf', async () => {
    await expect(verifier.verify(signToken(rsa, claims({ exp: now() - 2 })))).resolves.toBeDefined()
    await expect(verifier.verify(signToken(rsa, claims({ nbf: now() + 2 })))).resolves.toBeDefined()
    const strict = verifierFor([rsa], { clockTolerance: 0 })
    await expectCode(strict.verify(signToken(rsa, claims({ exp: now() - 2 }))), 'token_expired')
  })

  it('enforces maxTokenAge, which makes iat required', async () => {
    const aged = verifierFor([rsa], { maxTokenAge: 60 })
    await expectCode(aged.verify(signToken(rsa, claims({ iat: now() - 600 }))), 'token_too_old')
    await expectCode(aged.verify(signToken(rsa, claims({ iat: undefined }))), 'claim_missing')
    await expect(aged.verify(signToken(rsa, claims({ iat: now() - 30 })))).resolves.toBeDefined()
  })

  it('requires the configured claims', async () => {
    const requiring = verifierFor([rsa], { requiredClaims: ['tenant'] })
    await expectCode(requiring.verify(signToken(rsa)), 'claim_missing')
    await expectCode(requiring.verify(signToken(rsa, claims({ tenant: null }))), 'claim_missing')
    await expect(requiring.verify(signToken(rsa, claims({ tenant: 't1' })))).resolves.toBeDefined()
  })

  it('skips the audience check only when audience is null', async () => {
    const open = verifierFor([rsa], { audience: null })
    await expect(open.verify(signToken(rsa, claims({ aud: 'anything' })))).resolves.toBeDefined()
  })

  it('rejects other explicit token types in the default mode', async () => {
    for (const typ of ['dpop+jwt', 'id_token', 'logout+jwt', 'JOSE', '']) {
      await expectCode(verifier.verify(signToken(rsa, claims(), { header: { typ } })), 'type_not_allowed')
    }
  })

  it('in at+jwt mode requires the typ and the RFC 9068 claims', async () => {
    const strict = verifierFor([rsa], { tokenType: 'at+jwt' })
    await expect(strict.verify(signToken(rsa))).resolves.toBeDefined()
    await expect(strict.verify(signToken(rsa, claims(), { header: { typ: 'application/at+jwt' } }))).resolves.toBeDefined()
    await expectCode(strict.verify(signToken(rsa, claims(), { header: { typ: 'JWT' } })), 'type_not_allowed')
    await expectCode(strict.verify(signToken(rsa, claims(), { header: { typ: undefined } })), 'type_not_allowed')
    for (const claim of ['sub', 'client_id', 'iat', 'jti', 'aud']) {
      await expectCode(strict.verify(signToken(rsa, claims({ [claim]: undefined }))), 'claim_missing')
    }
  })
})

describe('verify: scopes', () => {
  const verifier = verifierFor([rsa])
  it('requires every listed scope by default', async () => {
    const token = signToken(rsa, claims({ scope: 'read:users write:users' }))
    await expect(verifier.verify(token, { scopes: ['read:users', 'write:users'] })).resolves.toBeDefined()
    const error = await verifier.verify(token, { scopes: ['read:users', 'admin'] }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(InsufficientScopeError)
    expect((error as InsufficientScopeError).status).toBe(403)
    expect((error as InsufficientScopeError).wwwAuthenticate).toBe(
      'Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="read:users admin"',
    )
  })

  it('matches scopes case-sensitively and as whole tokens', async () => {
    const token = signToken(rsa, claims({ scope: 'Read:users read:users:all' }))
    await expect(verifier.verify(token, { scopes: ['read:users'] })).rejects.toBeInstanceOf(InsufficientScopeError)
  })

  it('with scopeMatch any, needs one of the scopes', async () => {
    const token = signToken(rsa, claims({ scope: 'b' }))
    await expect(verifier.verify(token, { scopes: ['a', 'b'], scopeMatch: 'any' })).resolves.toBeDefined()
    await expect(verifier.verify(token, { scopes: ['a', 'c'], scopeMatch: 'any' })).rejects.toBeInstanceOf(InsufficientScopeError)
  })

  it('keeps the realm when a guard checks scopes on a result later', async () => {
    const withRealm = verifierFor([rsa], { realm: 'users-api' })
    const auth = await withRealm.verify(signToken(rsa, claims({ scope: 'a' })))
    const error = (() => {
      try {
        checkScopes(auth, ['b'])
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(InsufficientScopeError)
    expect((error as InsufficientScopeError).wwwAuthenticate).toBe(
      'Bearer realm="users-api", error="insufficient_scope", error_description="the token lacks a required scope", scope="b"',
    )
    const plain = await verifier.verify(signToken(rsa, claims({ scope: 'a' })))
    expect(() => checkScopes(plain, ['b'])).toThrow(expect.objectContaining({ realm: undefined }))
  })

  it('refuses a scopeMatch other than all or any instead of failing open', async () => {
    const token = signToken(rsa, claims({ scope: 'read' }))
    const options = { scopes: ['read', 'admin'], scopeMatch: 'every' as 'all' }
    await expect(verifier.verify(token, options)).rejects.toBeInstanceOf(TypeError)
  })

  it('checks the token before the scopes', async () => {
    const token = signToken(rsa, claims({ exp: 1, iat: 0, scope: '' }))
    await expectCode(verifier.verify(token, { scopes: ['a'] }), 'token_expired')
  })
})

describe('verify: signature checks on the thread pool (offloadSignatureChecks)', () => {
  it.each(ALGORITHMS)('accepts a valid %s token and refuses a forged one', async (alg) => {
    const key = makeKey(alg)
    const verifier = verifierFor([key], { offloadSignatureChecks: true })
    await expect(verifier.verify(signToken(key))).resolves.toMatchObject({ header: { alg } })
    const token = signToken(key)
    const [h, , sig] = token.split('.')
    const forged = `${h}.${b64url(JSON.stringify(claims({ sub: 'admin' })))}.${sig}`
    await expectCode(verifier.verify(forged), 'signature_invalid')
  })

  it('reports a bad signature before expiry, as on the event loop', async () => {
    const verifier = verifierFor([rsa], { offloadSignatureChecks: true })
    const token = signToken(rsa, claims({ exp: 1000, iat: 900 }))
    await expectCode(verifier.verify(`${token.slice(0, -4)}AAAA`), 'signature_invalid')
    await expectCode(verifier.verify(token), 'token_expired')
  })

  it('verifies many tokens in flight at once', async () => {
    const verifier = verifierFor([ec], { offloadSignatureChecks: true })
    const results = await Promise.all(Array.from({ length: 32 }, (_, i) => verifier.verify(signToken(ec, claims({ sub: `user-${i}` })))))
    expect(results.map((result) => result.payload.sub)).toEqual(Array.from({ length: 32 }, (_, i) => `user-${i}`))
  })
})

describe('verify: what the hot path shares between tokens', () => {
  it('keeps a token whose key is still being fetched intact while other tokens are verified', async () => {
    const k1 = makeKey('RS256', 'k1')
    const k2 = makeKey('RS256', 'k2')
    let openGate: () => void = () => {}
    const gate = new Promise<void>((resolve) => (openGate = resolve))
    let fetches = 0
    const fetchFn = async (): Promise<Response> => {
      fetches++
      if (fetches > 1) await gate
      return Response.json(fetches > 1 ? jwksOf(k1, k2) : jwksOf(k1))
    }
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'https://issuer.example.com/jwks', fetch: fetchFn, jwksCooldownMs: 0 })
    await verifier.verify(signToken(k1))
    // k2 is unknown: its token waits for a refetch; meanwhile k1's tokens go through synchronously.
    const waiting = verifier.verify(signToken(k2, claims({ sub: 'waiting' })))
    for (let i = 0; i < 3; i++) expect((await verifier.verify(signToken(k1, claims({ sub: `other-${i}` })))).payload.sub).toBe(`other-${i}`)
    openGate()
    expect((await waiting).payload.sub).toBe('waiting')
    expect(fetches).toBe(2)
  })

  it('keeps a token intact when a custom fetch verifies another token on the same verifier', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] })
    try {
      const key = makeKey('RS256', 'reentry')
      const sameClaims = claims({ jti: 'j', sub: 'user1', scope: 'read' })
      const inner = signToken(key, sameClaims)
      // Same header and segment lengths as `inner`, other claims, and a signature of zeros.
      const [header, , signature] = inner.split('.') as [string, string, string]
      const forged = `${header}.${b64url(JSON.stringify({ ...sameClaims, sub: 'admin', scope: 'root' }))}.${'A'.repeat(signature.length)}`
      expect(forged.length).toBe(inner.length)
      let reenter = false
      const reentered: Promise<unknown>[] = []
      const fetchFn = async (url: string): Promise<Response> => {
        if (reenter) reentered.push(verifier.verify(inner))
        if (url.endsWith('/.well-known/openid-configuration')) return Response.json({ issuer: ISSUER, jwks_uri: `${ISSUER}jwks` })
        return Response.json(jwksOf(key))
      }
      const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: fetchFn, jwksMaxAgeMs: 10_000 })
      await verifier.verify(inner) // metadata and keys at 0 s
      vi.advanceTimersByTime(9_000)
      await verifier.verify(inner) // keys refreshed in the background at 9 s; metadata still from 0 s
      await new Promise((resolve) => setTimeout(resolve, 50)) // (real timers) let that refresh finish
      vi.advanceTimersByTime(8_500) // keys near expiry, metadata stale: the next token starts a rediscovery
      reenter = true
      await expectCode(verifier.verify(forged), 'signature_invalid')
      reenter = false
      expect(reentered.length).toBeGreaterThan(0)
      for (const result of await Promise.all(reentered)) expect(result).toMatchObject({ payload: { sub: 'user1' } })
    } finally {
      vi.useRealTimers()
    }
  })

  it('fixes the scopes at verification, whatever is done to the payload later', async () => {
    const result = await verifierFor([rsa]).verify(signToken(rsa, claims({ scope: 'read', scp: ['a'] })))
    const payload = result.payload as Record<string, unknown>
    payload.scope = 'read admin'
    ;(payload.scp as string[]).push('admin')
    expect(result.scopes).toEqual(['read', 'a'])
    expect(() => checkScopes(result, ['admin'])).toThrow(InsufficientScopeError)
  })

  it('shows its scopes when logged', async () => {
    const result = await verifierFor([rsa]).verify(signToken(rsa, claims({ scope: 'a b' })))
    expect(inspect(result)).toContain("scopes: [ 'a', 'b' ]")
  })

  it('checks every header, also when tokens with different headers alternate', async () => {
    const verifier = verifierFor([rsa, ec], { algorithms: ['RS256'] })
    for (let i = 0; i < 3; i++) {
      await expect(verifier.verify(signToken(rsa))).resolves.toBeDefined()
      await expectCode(verifier.verify(signToken(ec)), 'algorithm_not_allowed')
      await expectCode(verifier.verify(signToken(rsa, claims(), { header: { typ: 'dpop+jwt' } })), 'type_not_allowed')
    }
  })

  it('reads scopes once, on first use, and serializes a result with them', async () => {
    const result = await verifierFor([rsa]).verify(signToken(rsa, claims({ scope: 'a b a' })))
    expect(result.scopes).toEqual(['a', 'b'])
    expect(result.scopes).toBe(result.scopes)
    expect(Object.isFrozen(result.scopes)).toBe(true)
    expect(JSON.parse(JSON.stringify(result))).toEqual({ token: result.token, header: { ...result.header }, payload: { ...result.payload }, scopes: ['a', 'b'] })
  })

  it('does not take a copy of a result as proof of a verified token', async () => {
    const result = await verifierFor([rsa]).verify(signToken(rsa, claims({ scope: 'a' })))
    expect(() => checkScopes(result, ['a'])).not.toThrow()
    for (const copy of [{ ...result }, Object.assign({}, result), { ...result, scopes: ['a'] }, structuredClone({ ...result })]) {
      expect(() => checkScopes(copy as typeof result, ['a'])).toThrow(MissingTokenError)
    }
  })
})
