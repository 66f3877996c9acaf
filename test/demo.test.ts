/** `npm run demo` as a newcomer runs it: it must print its table and exit 0 by itself. */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = fileURLToPath(new URL('..', import.meta.url))
const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url))

describe('npm run demo', () => {
  it.concurrent.each(['express', 'koa', 'fastify'])('runs the %s example against the local issuer and exits 0', async (framework) => {
    const { stdout } = await run(process.execPath, [tsx, 'examples/demo.ts', '--framework', framework], { cwd: root, timeout: 60_000 })
    expect(stdout).toContain(`${framework} API guarded by bearer-guard`)
    expect(stdout).toMatch(/GET \/users\s+no token\s+401\s+Bearer\n/)
    expect(stdout).toMatch(/POST \/users\s+read token, write route\s+403\s+Bearer error="insufficient_scope"/)
    expect(stdout).toMatch(/GET \/users\s+expired token\s+401\s+Bearer error="invalid_token"/)
    expect(stdout).toContain('Every answer is as expected.')
  }, 60_000)
})
