/** Small helpers that let each example run on its own; not part of bearer-guard. */
import type { Server } from 'node:http'
import { pathToFileURL } from 'node:url'
import type { VerifierOptions } from 'bearer-guard'

/** True when the module at `moduleUrl` is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1]
  return script !== undefined && moduleUrl === pathToFileURL(script).href
}

/** Verifier options from ISSUER and AUDIENCE (and optionally JWKS_URI) in the environment. */
export function optionsFromEnv(): VerifierOptions {
  const issuer = process.env.ISSUER
  const audience = process.env.AUDIENCE
  if (issuer === undefined || audience === undefined) {
    console.error('Set ISSUER and AUDIENCE (and optionally JWKS_URI), or run `npm run demo -- --serve`.')
    process.exit(1)
  }
  return { issuer, audience, ...(process.env.JWKS_URI === undefined ? {} : { jwksUri: process.env.JWKS_URI }) }
}

/** Starts a Node HTTP listener on PORT (default 3000) and logs where. */
export function listen(start: (port: number, host: string, ready: () => void) => Server, name: string): Promise<Server> {
  const port = Number(process.env.PORT ?? 3000)
  return new Promise((resolve) => {
    const server = start(port, '127.0.0.1', () => {
      console.log(`${name} API listening on http://127.0.0.1:${port}`)
      resolve(server)
    })
  })
}
