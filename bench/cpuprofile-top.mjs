// Prints the functions with the most self time in a V8 .cpuprofile (from `node --cpu-prof`).
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/verify.mjs --libs=bearer-guard --algs=RS256 --rounds=4 --round-ms=1000
//   node bench/cpuprofile-top.mjs /tmp/prof/CPU.*.cpuprofile [--top=25]

import { readFileSync } from 'node:fs'

const files = process.argv.slice(2).filter((arg) => !arg.startsWith('--'))
const topArg = process.argv.find((arg) => arg.startsWith('--top='))
const TOP = topArg === undefined ? 25 : Number(topArg.slice('--top='.length))
if (files.length === 0) {
  console.error('usage: node bench/cpuprofile-top.mjs FILE.cpuprofile [--top=N]')
  process.exit(2)
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  // Sample i lasted timeDeltas[i + 1] microseconds (the last one is unknown; count the mean).
  const selfMicros = new Map()
  const { samples, timeDeltas } = profile
  const total = (profile.endTime - profile.startTime) || timeDeltas.reduce((a, b) => a + b, 0)
  for (let i = 0; i < samples.length; i++) {
    const duration = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : total / samples.length
    selfMicros.set(samples[i], (selfMicros.get(samples[i]) ?? 0) + duration)
  }
  const byFunction = new Map()
  for (const [id, micros] of selfMicros) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame
    const where = url === '' ? '' : ` ${url.replace(/^file:\/\/.*?\/(node_modules|dist|bench)\//, '$1/')}:${lineNumber + 1}`
    const key = `${functionName || '(anonymous)'}${where}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros)
  }
  const rows = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, TOP)
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s profiled, ${samples.length} samples`)
  console.log('self ms   self %  function')
  for (const [name, micros] of rows) {
    console.log(`${(micros / 1000).toFixed(0).padStart(7)}  ${((100 * micros) / total).toFixed(1).padStart(6)}%  ${name}`)
  }
}
