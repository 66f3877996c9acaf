// Draws the results of bench/verify.mjs as a grouped bar chart: one group per algorithm, one bar per
// library, the whiskers spanning the slowest and fastest round. Hand-written SVG, no dependencies.
//
//   node bench/verify.mjs --json bench/results/verify.json && node bench/chart.mjs
//   node bench/chart.mjs [FILE.json] [--out=bench/results/verify.svg] [--metric=auto|ops|cpu]
//   node bench/chart.mjs --quick      draws the JSON (or, without one, made-up numbers) into a
//                                     temporary file and checks the drawing; exits non-zero on error
//
// FILE.json defaults to bench/results/verify.json; another file is copied there, so that the chart
// and the data behind it sit side by side. --metric: `ops` charts ops/s (wall clock), `cpu` ops per
// CPU-second; `auto` (default) charts ops/s unless the run was contended (CPU share under 90 %
// median or 75 % minimum), then ops per CPU-second. The chosen metric is in the title.

import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, URL } from 'node:url'

import { parseArgs } from './support.mjs'

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
const DEFAULT_JSON = join(RESULTS, 'verify.json')
const DEFAULT_SVG = join(RESULTS, 'verify.svg')

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('-'))
const args = parseArgs(process.argv.slice(2).filter((arg) => arg.startsWith('-')))
if (args.help) {
  console.log('usage: node bench/chart.mjs [FILE.json] [--out=FILE.svg] [--metric=auto|ops|cpu] [--quick]')
  process.exit(0)
}
const metricArg = args.metric ?? 'auto'
if (!['auto', 'ops', 'cpu'].includes(metricArg)) throw new Error('--metric must be auto, ops or cpu')

// ---------------------------------------------------------------------------------------------
// Data

function sampleReport() {
  const libs = ['LIMIT', 'LIMIT+parse', 'bearer-guard', 'jose', 'fast-jwt', 'aws-jwt-verify']
  const base = { RS256: 50000, PS256: 48000, ES256: 20000, EdDSA: 16000 }
  const factor = [1, 0.9, 0.8, 0.4, 0.75, 0.7]
  const cell = (value) => ({ median: value, min: value * 0.97, max: value * 1.02, spread: 0.05, rounds: [value] })
  const results = {}
  for (const [alg, ops] of Object.entries(base)) {
    results[alg] = {}
    libs.forEach((lib, i) => {
      results[alg][lib] = lib === 'aws-jwt-verify' && alg === 'PS256' ? null : { opsPerSecond: cell(ops * factor[i]), opsPerCpuSecond: cell(ops * factor[i]), cpuShare: cell(1) }
    })
  }
  return {
    benchmark: 'bench/verify.mjs (made-up numbers for --quick)',
    command: 'none',
    machine: { node: process.version, cpu: 'sample', cores: 2, loadAverageAtStart: [0, 0, 0] },
    setup: { algorithms: Object.keys(base), libraries: libs },
    cpuShare: { median: 1, min: 1, contended: false },
    results,
  }
}

const input = positional[0] === undefined ? DEFAULT_JSON : resolve(positional[0])
let report
if (existsSync(input)) report = JSON.parse(readFileSync(input, 'utf8'))
else if (args.quick) report = sampleReport()
else {
  console.error(`no ${relative(process.cwd(), input)}: run node bench/verify.mjs --json ${relative(process.cwd(), input)} first`)
  process.exit(1)
}

function check(condition, message) {
  if (!condition) {
    console.error(`FAIL ${message}`)
    process.exit(1)
  }
}
check(report.results !== undefined && report.setup?.algorithms?.length > 0, 'the JSON has no results (not written by bench/verify.mjs --json?)')

const metric = metricArg === 'auto' ? (report.cpuShare?.contended ? 'cpu' : 'ops') : metricArg
const field = metric === 'ops' ? 'opsPerSecond' : 'opsPerCpuSecond'
const algs = report.setup.algorithms
const libs = report.setup.libraries

// ---------------------------------------------------------------------------------------------
// Drawing

const COLORS = {
  LIMIT: '#9ca3af',
  'LIMIT+parse': '#d1d5db',
  'bearer-guard': '#2563eb',
  jose: '#f59e0b',
  'fast-jwt': '#10b981',
  'aws-jwt-verify': '#a855f7',
}
const colorOf = (lib, i) => COLORS[lib] ?? ['#ef4444', '#14b8a6', '#6366f1'][i % 3]
const esc = (text) => String(text).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')
const fmt = (value) => (value >= 1000 ? `${(value / 1000).toFixed(value >= 100000 ? 0 : 1)}k` : Math.round(value).toString())

function niceMax(value) {
  const exponent = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * exponent >= value) return step * exponent
  return 10 * exponent
}

const W = 820
const H = 470
const margin = { top: 64, right: 20, bottom: 108, left: 64 }
const plotW = W - margin.left - margin.right
const plotH = H - margin.top - margin.bottom
let top = 0
for (const alg of algs) for (const lib of libs) top = Math.max(top, report.results[alg]?.[lib]?.[field]?.max ?? 0)
check(top > 0 && Number.isFinite(top), 'no positive numbers to draw')
const yMax = niceMax(top * 1.18) // room for the value labels above the bars
const y = (value) => margin.top + plotH - (value / yMax) * plotH
const groupW = plotW / algs.length
const barGap = 3
const barW = Math.min(40, (groupW * 0.84) / libs.length - barGap)

const parts = []
parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`)
parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`)
const title = metric === 'ops' ? 'JWT verification throughput: ops/s (median of rounds, wall clock)' : 'JWT verification throughput: ops per CPU-second (median of rounds)'
parts.push(`<text x="${margin.left}" y="24" font-size="16" font-weight="600" fill="#111827">${esc(title)}</text>`)
const m = report.machine ?? {}
const subtitle = `node ${m.node ?? '?'}, ${m.cpu ?? '?'} (${m.cores ?? '?'} cores), distinct tokens, one at a time; whiskers: slowest/fastest round`
parts.push(`<text x="${margin.left}" y="44" fill="#4b5563">${esc(subtitle)}</text>`)

// Grid and y axis
for (let i = 0; i <= 5; i++) {
  const value = (yMax / 5) * i
  const yy = y(value)
  parts.push(`<line x1="${margin.left}" x2="${W - margin.right}" y1="${yy.toFixed(1)}" y2="${yy.toFixed(1)}" stroke="${i === 0 ? '#6b7280' : '#e5e7eb'}"/>`)
  parts.push(`<text x="${margin.left - 8}" y="${(yy + 4).toFixed(1)}" text-anchor="end" fill="#374151">${fmt(value)}</text>`)
}
parts.push(
  `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#374151">${metric === 'ops' ? 'verifications / s' : 'verifications / CPU-second'}</text>`,
)

// Bars
let bars = 0
algs.forEach((alg, g) => {
  const groupX = margin.left + g * groupW
  const usedW = libs.length * (barW + barGap) - barGap
  const startX = groupX + (groupW - usedW) / 2
  libs.forEach((lib, i) => {
    const x = startX + i * (barW + barGap)
    const cell = report.results[alg]?.[lib]
    if (cell === null || cell === undefined) {
      parts.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(y(0) - 6).toFixed(1)}" text-anchor="middle" font-size="10" fill="#9ca3af">n/a</text>`)
      return
    }
    const { median: value, min, max } = cell[field]
    check(Number.isFinite(value) && value > 0, `${alg} ${lib}: not a positive number`)
    const yy = y(value)
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${yy.toFixed(1)}" width="${barW.toFixed(1)}" height="${(y(0) - yy).toFixed(1)}" fill="${colorOf(lib, i)}"${lib === 'bearer-guard' ? '' : ' fill-opacity="0.9"'}><title>${esc(`${alg} ${lib}: ${Math.round(value).toLocaleString('en-US')}`)}</title></rect>`,
    )
    if (Number.isFinite(min) && Number.isFinite(max) && max > min) {
      const cx = (x + barW / 2).toFixed(1)
      parts.push(`<line x1="${cx}" x2="${cx}" y1="${y(max).toFixed(1)}" y2="${y(min).toFixed(1)}" stroke="#111827" stroke-width="1"/>`)
    }
    const labelX = x + barW / 2 + 3.5
    const labelY = y(Number.isFinite(max) ? Math.max(max, value) : value) - 4
    parts.push(
      `<text transform="translate(${labelX.toFixed(1)} ${labelY.toFixed(1)}) rotate(-90)" font-size="10" fill="#111827"${lib === 'bearer-guard' ? ' font-weight="700"' : ''}>${fmt(value)}</text>`,
    )
    bars++
  })
  parts.push(`<text x="${(groupX + groupW / 2).toFixed(1)}" y="${(y(0) + 18).toFixed(1)}" text-anchor="middle" font-size="13" font-weight="600" fill="#111827">${esc(alg)}</text>`)
})

// Legend
const legendY = H - 48
let legendX = margin.left
for (const [i, lib] of libs.entries()) {
  parts.push(`<rect x="${legendX}" y="${legendY - 10}" width="12" height="12" fill="${colorOf(lib, i)}"/>`)
  parts.push(`<text x="${legendX + 17}" y="${legendY}" fill="#111827"${lib === 'bearer-guard' ? ' font-weight="700"' : ''}>${esc(lib)}</text>`)
  legendX += 30 + lib.length * 7
}
const share = report.cpuShare
const foot1 = `${report.command ?? ''}${share ? ` — CPU share: median ${(100 * share.median).toFixed(0)}%, min ${(100 * share.min).toFixed(0)}%` : ''}${report.startedAt ? ` — ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC` : ''}`
const foot2 = 'LIMIT = bare crypto.verify (cached KeyObject); LIMIT+parse = split, decode, JSON.parse, verify; n/a = not supported'
parts.push(`<text x="${margin.left}" y="${H - 24}" font-size="10" fill="#6b7280">${esc(foot1)}</text>`)
parts.push(`<text x="${margin.left}" y="${H - 10}" font-size="10" fill="#6b7280">${esc(foot2)}</text>`)
parts.push('</svg>')
const svg = `${parts.join('\n')}\n`

// ---------------------------------------------------------------------------------------------
// Checks and output

const expectedBars = algs.reduce((sum, alg) => sum + libs.filter((lib) => report.results[alg]?.[lib]).length, 0)
check(bars === expectedBars, `drew ${bars} bars, expected ${expectedBars}`)
check(!svg.includes('NaN') && !svg.includes('undefined') && !svg.includes('Infinity'), 'the drawing contains a non-number')
check((svg.match(/<svg /g) ?? []).length === 1 && svg.trimEnd().endsWith('</svg>'), 'the drawing is not one SVG element')

if (args.quick) {
  const out = join(os.tmpdir(), `bearer-guard-chart-${process.pid}.svg`)
  writeFileSync(out, svg)
  console.log(`chart --quick: ${bars} bars drawn from ${existsSync(input) ? relative(process.cwd(), input) : 'made-up numbers'} (${metric}) into ${out}`)
  process.exit(0)
}

const out = resolve(args.out ?? DEFAULT_SVG)
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, svg)
if (resolve(input) !== resolve(DEFAULT_JSON) && args.out === undefined) {
  mkdirSync(RESULTS, { recursive: true })
  copyFileSync(input, DEFAULT_JSON)
  console.log(`copied ${relative(process.cwd(), input)} to ${relative(process.cwd(), DEFAULT_JSON)}`)
}
console.log(`wrote ${relative(process.cwd(), out)}: ${bars} bars, ${metric === 'ops' ? 'ops/s' : 'ops per CPU-second'}`)
