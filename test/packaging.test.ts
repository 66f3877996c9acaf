/**
 * The published package, as a user gets it: built and packed once, installed from the tarball into
 * scratch projects in the OS temp directory, then used from child processes (ESM, CommonJS,
 * TypeScript) and checked by publint and Are the Types Wrong.
 *
 * Nothing here needs the network. The build runs on a copy of the project (so the project's own
 * dist/ is never wiped while other tests or tools use it); the tarball is unpacked into
 * node_modules/bearer-guard, and the packages a user would install next to it (its dependencies,
 * the frameworks, their @types, typescript) are symlinked from the project's node_modules. Only
 * those are linked, not all of node_modules, so an import of an undeclared package fails as it
 * would for a user; their own dependencies still resolve, since Node and TypeScript follow a
 * symlink to its real path and look up node_modules from there.
 */
import { execFile, type ChildProcess } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const fixtures = join(root, 'test/fixtures/packaging')

interface Manifest {
  name: string
  exports: Record<string, string | Record<string, Record<string, string>>>
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
}
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest
const dependencies = Object.keys(manifest.dependencies ?? {})
const peers = Object.keys(manifest.peerDependencies ?? {})
const ENTRY_POINTS = ['bearer-guard', 'bearer-guard/express', 'bearer-guard/koa', 'bearer-guard/fastify']

// ---------------------------------------------------------------------------------------------
// Child processes: always asynchronous (tests run concurrently), always with a time limit, and
// never rejecting, so that a failure shows the command with its exit status, stdout and stderr.

interface ChildResult {
  command: string
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** The environment of every child: no inherited Node options or module paths, no colours, npm offline. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NO_COLOR: '1',
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  }
  delete env.NODE_OPTIONS
  delete env.NODE_PATH
  delete env.FORCE_COLOR
  return env
}

/** Children still running: killed in afterAll, so that none writes into the scratch directory as it is removed. */
const running = new Set<ChildProcess>()

function run(file: string, args: readonly string[], cwd: string, timeout = 60_000): Promise<ChildResult> {
  const command = [file, ...args].join(' ')
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { cwd, env: childEnv(), timeout, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        running.delete(child)
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null
        const signal = error === null ? null : (error.signal ?? null)
        resolve({ command: `${command}  (in ${cwd})`, code, signal, stdout, stderr: error !== null && code === null ? `${String(error)}\n${stderr}` : stderr })
      },
    )
    running.add(child)
  })
}

async function killRunning(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once('close', () => resolve())
          child.kill('SIGKILL')
        }),
    ),
  )
}

/** A failure message: the command and everything it printed. */
function explain(result: ChildResult, what = ''): string {
  const status = result.signal !== null ? `killed by ${result.signal} (time limit?)` : `exit code ${String(result.code)}`
  return [what, `$ ${result.command}`, status, `--- stdout ---\n${result.stdout.trim()}`, `--- stderr ---\n${result.stderr.trim()}`].filter(Boolean).join('\n')
}

async function runOk(file: string, args: readonly string[], cwd: string, timeout?: number): Promise<ChildResult> {
  const result = await run(file, args, cwd, timeout)
  if (result.code !== 0) throw new Error(explain(result, 'command failed'))
  return result
}

/** Runs a Node script and parses the one JSON line it prints. */
async function runJson<T>(cwd: string, args: readonly string[]): Promise<T> {
  const result = await runOk(process.execPath, args, cwd)
  try {
    return JSON.parse(result.stdout) as T
  } catch {
    throw new Error(explain(result, 'the script did not print JSON'))
  }
}

/** Runs each promise-returning function at most once, so that concurrent tests can share a child's result. */
function once<T>(task: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined
  return () => (promise ??= task())
}

// ---------------------------------------------------------------------------------------------
// The scratch projects.

let scratch = ''
let tarball = ''
let packedFiles: string[] = []
/** Dependencies, frameworks, their types and typescript installed: the runtime and TypeScript checks. */
let fullProject = ''
/** Only the package and its dependencies: no framework installed. */
let coreProject = ''

function link(project: string, name: string): void {
  const target = join(project, 'node_modules', name)
  mkdirSync(dirname(target), { recursive: true })
  symlinkSync(join(root, 'node_modules', name), target, 'dir')
}

async function install(project: string, linked: readonly string[]): Promise<void> {
  mkdirSync(join(project, 'node_modules'), { recursive: true })
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: `${relative(scratch, project)}-consumer`, private: true })}\n`)
  const unpacked = mkdtempSync(join(scratch, 'unpack-'))
  await runOk('tar', ['-xzf', tarball, '-C', unpacked], scratch)
  renameSync(join(unpacked, 'package'), join(project, 'node_modules', manifest.name))
  for (const name of linked) link(project, name)
}

/** The per-framework quick starts of the README: `[framework, code]`. */
function readmeQuickStarts(): [string, string][] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/\*\*(Express|Koa|Fastify)\*\* \(`bearer-guard\/\w+`\):\n\n```ts\n([\s\S]*?)```/g)]
  return blocks.map((match) => [(match[1] ?? '').toLowerCase(), match[2] ?? ''])
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'bearer-guard-packaging-'))

  // Build and pack a copy of the project, without its node_modules (linked), dist, .git or old tarballs.
  const stage = join(scratch, 'stage')
  const skipped = new Set(['node_modules', 'dist', '.git', 'coverage'])
  cpSync(root, stage, {
    recursive: true,
    filter: (source) => {
      const top = relative(root, source).split(sep)[0] ?? ''
      return !skipped.has(top) && !top.endsWith('.tgz')
    },
  })
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir')
  await runOk('npm', ['run', 'build'], stage, 90_000)
  const packDir = join(scratch, 'pack')
  mkdirSync(packDir)
  const pack = await runOk('npm', ['pack', '--json', '--pack-destination', packDir], stage)
  let info: { filename: string; files: { path: string }[] } | undefined
  try {
    info = (JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as (typeof info)[])[0]
  } catch {
    // reported below
  }
  if (info === undefined) {
    throw new Error(explain(pack, 'npm pack --json printed no JSON'))
  }
  tarball = join(packDir, info.filename)
  packedFiles = info.files.map((file) => file.path)

  fullProject = join(scratch, 'full')
  await install(fullProject, [...dependencies, ...peers, '@types/node', '@types/express', '@types/koa', 'typescript'])
  for (const file of ['checks.cjs', 'runtime.mjs', 'runtime.cjs', 'probe.cjs']) cpSync(join(fixtures, file), join(fullProject, file))
  for (const [dir, type, tsconfig] of [
    ['esm', 'module', 'tsconfig.node16.json'],
    ['cjs', 'commonjs', 'tsconfig.node16.json'],
    ['bundler', 'module', 'tsconfig.bundler.json'],
  ] as const) {
    mkdirSync(join(fullProject, dir))
    writeFileSync(join(fullProject, dir, 'package.json'), `${JSON.stringify({ type })}\n`)
    cpSync(join(fixtures, tsconfig), join(fullProject, dir, 'tsconfig.json'))
    cpSync(join(fixtures, 'consumer.ts'), join(fullProject, dir, 'consumer.ts'))
  }

  // The README's quick starts, pasted as they are into an ESM project that also has @koa/router.
  for (const name of ['@koa/router', '@types/koa__router']) link(fullProject, name)
  mkdirSync(join(fullProject, 'readme'))
  writeFileSync(join(fullProject, 'readme', 'package.json'), `${JSON.stringify({ type: 'module' })}\n`)
  const quickStarts = readmeQuickStarts()
  for (const [framework, code] of quickStarts) writeFileSync(join(fullProject, 'readme', `${framework}.ts`), code)
  const readmeConfig = JSON.parse(readFileSync(join(fixtures, 'tsconfig.node16.json'), 'utf8')) as { files: string[] }
  readmeConfig.files = quickStarts.map(([framework]) => `${framework}.ts`)
  writeFileSync(join(fullProject, 'readme', 'tsconfig.json'), JSON.stringify(readmeConfig))

  coreProject = join(scratch, 'core-only')
  await install(coreProject, dependencies)
  for (const file of ['checks.cjs', 'core-only.cjs']) cpSync(join(fixtures, file), join(coreProject, file))
}, 120_000)

afterAll(async () => {
  await killRunning()
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true, maxRetries: 3 })
})

// ---------------------------------------------------------------------------------------------

interface ErrorView {
  name: string
  code: string
  status: number
  instanceOfOwnClass: boolean
  instanceOfBearerError: boolean
  isBearerError: boolean
}
interface Answer {
  status: number
  challenge: string | null
  body: string
  /** What the application's error hook saw, as in fixtures/packaging/checks.cjs. */
  errors: ErrorView[]
}
type Case = 'ok' | 'expired' | 'noScope' | 'missing'
interface RuntimeReport {
  exports: Record<'core' | 'express' | 'koa' | 'fastify', string[]>
  core: { sub: string; scopes: string[]; alg: string }
  coreError: ErrorView | null
  express: Record<Case, Answer>
  koa: Record<Case, Answer>
  fastify: Record<Case, Answer>
}

const runtime = {
  ESM: once(() => runJson<RuntimeReport>(fullProject, ['runtime.mjs'])),
  CommonJS: once(() => runJson<RuntimeReport>(fullProject, ['runtime.cjs'])),
}

/** A bearer-guard error as the user must see it: `instanceof` the classes of the core they imported. */
const bearerError = (name: string, code: string, status: number): ErrorView => ({
  name,
  code,
  status,
  instanceOfOwnClass: true,
  instanceOfBearerError: true,
  isBearerError: true,
})
const EXPIRED = bearerError('InvalidTokenError', 'token_expired', 401)

/** What each adapter must answer, and which error the application sees, for each case of checks.cjs. */
const EXPECTED_ANSWERS: Record<Case, { status: number; challenge: RegExp | null; errors: ErrorView[] }> = {
  ok: { status: 200, challenge: null, errors: [] },
  expired: { status: 401, challenge: /^Bearer error="invalid_token", error_description="[^"]+"$/, errors: [EXPIRED] },
  noScope: {
    status: 403,
    challenge: /^Bearer error="insufficient_scope", .*scope="read:users"/,
    errors: [bearerError('InsufficientScopeError', 'scope_insufficient', 403)],
  },
  missing: { status: 401, challenge: /^Bearer$/, errors: [bearerError('MissingTokenError', 'credentials_missing', 401)] },
}

// Generous limits: the TypeScript checks take seconds each, far more on a busy machine; every
// child process also has its own time limit (run()), so a hung one fails with its output.
describe.concurrent('the packed package', { timeout: 90_000 }, () => {
  it('holds the built entry points, and imports only declared dependencies', ({ expect }) => {
    const allowed = /^(?:dist\/[^/]+\.(?:js|cjs|d\.ts|d\.cts|js\.map|cjs\.map)|package\.json|README\.md|CHANGELOG\.md|LICEN[CS]E(?:\.\w+)?)$/
    expect(packedFiles.filter((file) => !allowed.test(file)), 'unexpected files in the tarball').toEqual([])
    const targets = Object.values(manifest.exports).flatMap((value) =>
      typeof value === 'string' ? [value] : Object.values(value).flatMap((conditions) => Object.values(conditions)),
    )
    expect(targets.length).toBeGreaterThan(ENTRY_POINTS.length)
    for (const target of targets) expect(packedFiles, `"exports" target ${target} is not in the tarball`).toContain(target.replace(/^\.\//, ''))

    // Bare specifiers in the shipped code and declarations: builtins, the package itself (adapters
    // share the core through it), dependencies, or (optional) peer dependencies, nothing else.
    const installed = join(fullProject, 'node_modules', manifest.name)
    const declared = new Set([manifest.name, ...dependencies, ...peers])
    const undeclared: string[] = []
    const seen = new Set<string>()
    for (const file of readdirSync(join(installed, 'dist')).filter((name) => !name.endsWith('.map'))) {
      // Without block comments: JSDoc examples may import anything.
      const text = readFileSync(join(installed, 'dist', file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '')
      for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"./][^'"]*)['"]/g)) {
        const specifier = match[1] ?? ''
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? '')
        seen.add(name)
        if (specifier.startsWith('node:') || builtinModules.includes(name) || declared.has(name)) continue
        undeclared.push(`${file}: ${specifier}`)
      }
    }
    expect(undeclared, 'imports of packages that are neither dependencies nor peer dependencies').toEqual([])
    // A check of the check: the scan finds the imports that are there.
    expect([...seen]).toEqual(expect.arrayContaining([manifest.name, ...dependencies]))
  })

  describe.each(['ESM', 'CommonJS'] as const)('%s', (format) => {
    it(`${format === 'ESM' ? 'import' : 'require'} of the core verifies a token and rejects an expired one`, async ({ expect }) => {
      const report = await runtime[format]()
      expect(report.core).toEqual({ sub: 'user-1', scopes: ['read:users'], alg: 'ES256' })
      expect(report.coreError).toEqual(EXPIRED)
    })

    it('each adapter works in its framework, and its errors are instanceof the core classes (one core copy)', async ({ expect }) => {
      const report = await runtime[format]()
      for (const framework of ['express', 'koa', 'fastify'] as const) {
        for (const [name, expected] of Object.entries(EXPECTED_ANSWERS)) {
          const answer = report[framework][name as Case]
          const where = `${framework}, ${name} token: ${JSON.stringify(answer)}`
          expect(answer.status, where).toBe(expected.status)
          if (expected.challenge === null) expect(answer.challenge, where).toBeNull()
          else expect(answer.challenge, where).toMatch(expected.challenge)
          expect(answer.errors, `${where}\nthe error the application sees`).toEqual(expected.errors)
        }
        expect(JSON.parse(report[framework].ok.body), `${framework}: body for a valid token`).toEqual({ sub: 'user-1' })
      }
      // bearerErrorHandler recognised the error (else Express's default handler answers in HTML).
      expect(JSON.parse(report.express.expired.body)).toMatchObject({ error: 'invalid_token' })
    })
  })

  it('the ESM and CommonJS builds export the same names', async ({ expect }) => {
    const [esm, cjs] = await Promise.all([runtime.ESM(), runtime.CommonJS()])
    expect(cjs.exports).toEqual(esm.exports)
    expect(esm.exports.core).toContain('createVerifier')
    expect(esm.exports.fastify).toEqual(['bearerGuardPlugin', 'default'])
  })

  it('loading the core loads no web framework, and no adapter loads another framework', async ({ expect }) => {
    // See fixtures/packaging/probe.cjs for how loaded frameworks are detected (require.cache).
    const frameworks = ['express', 'fastify', 'fastify-plugin', 'koa']
    const own: Record<string, string[]> = {
      'bearer-guard': [],
      'bearer-guard/express': ['express'],
      'bearer-guard/koa': ['koa'],
      'bearer-guard/fastify': ['fastify', 'fastify-plugin'],
    }
    const probes = ENTRY_POINTS.flatMap((entry) => (['esm', 'cjs'] as const).map((format) => ({ entry, format })))
    const results = await Promise.all(
      probes.map(({ entry, format }) => runJson<{ loaded: string[]; frameworksAfter: string[] }>(fullProject, ['probe.cjs', format, entry])),
    )
    probes.forEach(({ entry, format }, index) => {
      const result = results[index]
      expect(result?.frameworksAfter, `${entry} (${format}): the probe must see frameworks once they are loaded`).toEqual(frameworks)
      expect(result?.loaded.filter((name) => !own[entry]?.includes(name)), `${entry} (${format}): frameworks loaded`).toEqual([])
    })
    expect(results[0]?.loaded, 'bearer-guard (esm)').toEqual([])
    expect(results[1]?.loaded, 'bearer-guard (cjs)').toEqual([])
  })

  it.for(['esm', 'cjs'] as const)('the core works with no framework installed (%s)', async (format, { expect }) => {
    const result = await runJson<{ sub: string; resolvable: string[] }>(coreProject, ['core-only.cjs', format])
    expect(result).toEqual({ sub: 'user-1', resolvable: [] })
  })

  // TypeScript consumers (fixtures/packaging/consumer.ts) compiled with strict settings and
  // skipLibCheck: false, so that the shipped declarations are type-checked too.
  //
  // One diagnostic is tolerated, in a third-party package: @types/koa@3.0.3 uses
  // `contentDisposition.Options` from `content-disposition`, but the content-disposition@2 that
  // express@5.3 installs (hoisted to the top of node_modules) ships its own types without that
  // name (@types/content-disposition would have it). Any project with express 5.3 and @types/koa
  // sees it without skipLibCheck; it has nothing to do with bearer-guard.
  const knownThirdPartyError = /[\\/]@types[\\/]koa[\\/]index\.d\.ts\(\d+,\d+\): error TS2694: Namespace '[^']*content-disposition[^']*' has no exported member 'Options'\./

  it.for([
    ['node16, ESM consumer ("type": "module")', 'esm', true],
    ['node16, CommonJS consumer', 'cjs', true],
    ['esnext + bundler resolution', 'bundler', false],
  ] as const)('TypeScript compiles a consumer: %s', async ([, dir, runOutput], { expect }) => {
    const tsc = join(root, 'node_modules/typescript/bin/tsc')
    const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], fullProject)
    // tsc prints one diagnostic per line, continuation lines indented.
    const diagnostics = result.stdout.split(/\r?\n(?=\S)/).filter((text) => text.trim() !== '')
    const unexpected = diagnostics.filter((text) => !knownThirdPartyError.test(text))
    expect(unexpected, explain(result, 'tsc diagnostics')).toEqual([])
    expect(result.code === 0 || diagnostics.length > 0, explain(result, 'tsc failed without diagnostics')).toBe(true)
    if (runOutput) {
      const output = await runJson<unknown>(fullProject, [join(dir, 'out/consumer.js')])
      expect(output).toEqual({ sub: 'user-1', failure: 'token_expired', fastify: [200, { sub: 'user-1' }, 401] })
    }
  })

  it("the README's quick start for each framework compiles as pasted into a fresh project", async ({ expect }) => {
    expect(readmeQuickStarts().map(([framework]) => framework)).toEqual(['express', 'koa', 'fastify'])
    const tsc = join(root, 'node_modules/typescript/bin/tsc')
    const result = await run(process.execPath, [tsc, '-p', join('readme', 'tsconfig.json'), '--noEmit'], fullProject)
    const diagnostics = result.stdout.split(/\r?\n(?=\S)/).filter((text) => text.trim() !== '')
    expect(diagnostics.filter((text) => !knownThirdPartyError.test(text)), explain(result, 'tsc diagnostics')).toEqual([])
  })

  it('publint reports no error or warning on the tarball', async ({ expect }) => {
    // `--strict`: warnings fail too (exit code 1); suggestions are printed but pass.
    const result = await run(join(root, 'node_modules/.bin/publint'), ['run', tarball, '--strict'], fullProject)
    expect(result.code, explain(result)).toBe(0)
    expect(result.stdout, explain(result)).not.toMatch(/^(?:Errors|Warnings):/m)
  })

  it('Are the Types Wrong finds no problem for node16 (CommonJS and ESM) and bundler resolution', async ({ expect }) => {
    // A local tarball is read, not fetched; `--no-definitely-typed` keeps attw from looking up
    // @types/bearer-guard on the registry. Profile node16 ignores node10 resolution, where the
    // subpath entry points cannot resolve without "typesVersions".
    const result = await run(
      join(root, 'node_modules/.bin/attw'),
      [tarball, '--format', 'json', '--profile', 'node16', '--no-definitely-typed'],
      fullProject,
    )
    expect(result.code, explain(result)).toBe(0)
    const { analysis } = JSON.parse(result.stdout) as {
      analysis: {
        problems: { kind: string; entrypoint?: string; resolutionKind?: string }[]
        entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string } }> }>
      }
    }
    const problems = analysis.problems.filter((problem) => problem.resolutionKind !== 'node10')
    expect(problems, explain(result)).toEqual([])
    // Each entry point resolves to its own declarations: .d.cts for require, .d.ts for import.
    for (const entry of ENTRY_POINTS) {
      const subpath = entry === manifest.name ? '.' : `.${entry.slice(manifest.name.length)}`
      const file = subpath === '.' ? 'index' : subpath.slice(2)
      const resolutions = analysis.entrypoints[subpath]?.resolutions
      expect(resolutions?.['node16-cjs']?.resolution?.fileName, `${entry}, node16 from CommonJS`).toBe(`/node_modules/bearer-guard/dist/${file}.d.cts`)
      expect(resolutions?.['node16-esm']?.resolution?.fileName, `${entry}, node16 from ESM`).toBe(`/node_modules/bearer-guard/dist/${file}.d.ts`)
      expect(resolutions?.bundler?.resolution?.fileName, `${entry}, bundler`).toBe(`/node_modules/bearer-guard/dist/${file}.d.ts`)
    }
  })
})
