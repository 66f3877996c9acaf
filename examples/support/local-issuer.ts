/**
 * An embedded OAuth 2.0 authorization server for the demo and the end-to-end tests: the certified
 * `oidc-provider` package on 127.0.0.1, issuing RFC 9068 JWT access tokens through the
 * client-credentials grant. Development only: in-memory storage, a key made at start-up.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT } from 'jose'
import type Provider from 'oidc-provider'

export interface LocalIssuer {
  /** Issuer identifier, e.g. `http://127.0.0.1:43210` (discovery works from it). */
  issuer: string
  /** Audience the access tokens are minted for. */
  audience: string
  /** Obtains an access token with the given space-separated scopes through client credentials. */
  token(scope: string): Promise<string>
  /** A token signed with the issuer's real key but already expired, to show that expiry is checked. */
  expiredToken(scope: string): Promise<string>
  close(): Promise<void>
}

export interface LocalIssuerOptions {
  /** Port to listen on; default 0 (any free port). */
  port?: number
  /** Audience (resource indicator) of the API; default `https://api.example.com`. */
  audience?: string
  /** Scopes the API defines; default `read:users write:users`. */
  scopes?: string
  /** Access-token lifetime in seconds; default 300. */
  tokenTtl?: number
}

const CLIENT_ID = 'demo-client'
const CLIENT_SECRET = 'demo-client-secret-not-for-production'

/**
 * oidc-provider warns, rightly, that this set-up is for development only (and that it prefers
 * Node 22); the demo says so itself, so those warnings are held back while it loads and starts.
 */
async function withoutDevelopmentWarnings<T>(make: () => T | Promise<T>): Promise<T> {
  const warn = console.warn
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider')) return
    warn(...args)
  }
  try {
    return await make()
  } finally {
    console.warn = warn
  }
}

export async function startLocalIssuer(options: LocalIssuerOptions = {}): Promise<LocalIssuer> {
  const audience = options.audience ?? 'https://api.example.com'
  const scopes = options.scopes ?? 'read:users write:users'
  const tokenTtl = options.tokenTtl ?? 300
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'local-issuer-key', alg: 'RS256', use: 'sig' }

  const provider: Provider = await withoutDevelopmentWarnings(async () => {
    const { default: OidcProvider } = await import('oidc-provider')
    return new OidcProvider(issuer, {
        clients: [
          { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
        ],
        jwks: { keys: [signingKey] },
        ttl: { ClientCredentials: tokenTtl },
        features: {
          clientCredentials: { enabled: true },
          devInteractions: { enabled: false },
          resourceIndicators: {
            enabled: true,
            defaultResource: () => audience,
            useGrantedResource: () => true,
            getResourceServerInfo: () => ({
              scope: scopes,
              audience,
              accessTokenTTL: tokenTtl,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'RS256' } },
            }),
          },
        },
      })
  })
  server.on('request', await withoutDevelopmentWarnings(() => provider.callback()))

  async function token(scope: string): Promise<string> {
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource: audience }),
    })
    const body = (await response.json()) as { access_token?: string; error?: string }
    if (!response.ok || body.access_token === undefined) throw new Error(`token request failed: ${response.status} ${body.error ?? ''}`)
    return body.access_token
  }

  async function expiredToken(scope: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({ scope, client_id: CLIENT_ID })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: signingKey.kid })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(CLIENT_ID)
      .setJti(randomUUID())
      .setIssuedAt(now - 600)
      .setExpirationTime(now - 300)
      .sign(privateKey)
  }

  return {
    issuer,
    audience,
    token,
    expiredToken,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
