/**
 * A JWKS endpoint (plain node:http on 127.0.0.1) that serves the currently published keys and can be
 * switched into failure modes, and a record of every exchange, so the soak test knows which key sets
 * the verifier can have received and when: it is the verifier's only client, and the verifier
 * fetches one request at a time.
 *
 * The HTTP server runs in a worker thread with an event loop of its own: a stall of the load
 * generator must not hold a healthy answer past the verifier's 300 ms deadline, or the record would
 * say "delivered" about a key set the verifier gave up on. The main thread ({@link JwksProvider})
 * sends it modes and key sets and mirrors what it reports. Times are the main thread's
 * `performance.now()` milliseconds on both sides.
 */
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'

/** Failure modes, in the order the soak test cycles through them. */
export const FAULT_MODES = [
  'status-500',
  'status-404',
  'html',
  'invalid-json',
  'empty-set',
  'enc-only',
  'redirect',
  'reset',
  'hang',
  'huge',
  'trickle',
] as const
export type FaultMode = (typeof FAULT_MODES)[number]
/** `calm`: healthy, always with `Cache-Control: max-age=600` (the verifier clamps it to its max age). */
export type Mode = 'healthy' | 'calm' | FaultMode

export function isHealthy(mode: Mode): boolean {
  return mode === 'healthy' || mode === 'calm'
}

export const JWKS_PATH = '/jwks'
/** Where the redirect mode points; a request here means the client followed a redirect. */
export const REDIRECT_TARGET_PATH = '/jwks-moved'

/** A published key: its `kid` and public JWK. */
export interface PublishedKey {
  kid: string
  jwk: Readonly<Record<string, unknown>>
}

interface WorkerConfig {
  role: 'soak-jwks-server'
  /** The main thread's `performance.timeOrigin`, to express times on its clock. */
  mainTimeOrigin: number
  maxResponseBytes: number
}

type ToWorker = { type: 'mode'; mode: Mode } | { type: 'keys'; keys: PublishedKey[] } | { type: 'close' }

type FromWorker =
  | { type: 'listening'; port: number }
  /**
   * Every request: its `x-soak-exchange` id, what it got, when it arrived, whether it was answered
   * in a failing mode.
   */
  | { type: 'exchange'; id: string | undefined; outcome: string; at: number; failing: boolean }
  /** A complete 200 key set or a 304, handed to the OS at `at`. */
  | { type: 'success'; id: string | undefined; at: number; kids: string[] }
  | { type: 'closed' }

// ---------------------------------------------------------------------------------------------
// Worker side: the HTTP server

const CACHE_CONTROLS = [undefined, 'max-age=3', 'public, max-age=600', 'no-cache'] as const

class FaultyJwksServer {
  private readonly server: Server
  private readonly sockets = new Set<Socket>()
  private readonly trickles = new Set<NodeJS.Timeout>()
  private mode: Mode = 'healthy'
  private keys: PublishedKey[] = []
  private variant = 0

  constructor(
    private readonly config: WorkerConfig,
    private readonly post: (message: FromWorker) => void,
  ) {
    this.server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => this.handle(req, res))
    this.server.on('connection', (socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    })
    // Clients that give up mid-body (huge, trickle) surface here; nothing to do but drop the socket.
    this.server.on('clientError', (_error, socket) => socket.destroy())
  }

  listen(): void {
    this.server.listen(0, '127.0.0.1', () => this.post({ type: 'listening', port: (this.server.address() as AddressInfo).port }))
  }

  onMessage(message: ToWorker): void {
    if (message.type === 'mode') this.mode = message.mode
    else if (message.type === 'keys') this.keys = message.keys
    else void this.close().then(() => this.post({ type: 'closed' }))
  }

  private now(): number {
    return performance.timeOrigin + performance.now() - this.config.mainTimeOrigin
  }

  private async close(): Promise<void> {
    for (const timer of this.trickles) clearInterval(timer)
    this.trickles.clear()
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    // Hanging and trickling exchanges never end by themselves.
    for (const socket of this.sockets) socket.destroy()
    this.server.closeAllConnections()
    await closed
  }

  private keySetBody(extra: object = {}): string {
    return JSON.stringify({ keys: this.keys.map((key) => key.jwk), ...extra })
  }

  private serveKeySet(req: IncomingMessage, res: ServerResponse, id: string | undefined, arrivedAt: number, outcomePrefix: string): void {
    const kids = this.keys.map((key) => key.kid)
    const etag = `"${createHash('sha256').update(kids.join(',')).digest('base64url').slice(0, 16)}"`
    const cacheControl = outcomePrefix === 'calm' ? 'max-age=600' : CACHE_CONTROLS[this.variant++ % CACHE_CONTROLS.length]
    const headers: Record<string, string> = { etag }
    if (cacheControl !== undefined) headers['cache-control'] = cacheControl
    res.once('finish', () => this.post({ type: 'success', id, at: this.now(), kids }))
    if (req.headers['if-none-match'] === etag) {
      this.post({ type: 'exchange', id, outcome: `${outcomePrefix}-304`, at: arrivedAt, failing: false })
      res.writeHead(304, headers).end()
      return
    }
    this.post({ type: 'exchange', id, outcome: `${outcomePrefix}-200`, at: arrivedAt, failing: false })
    const body = this.keySetBody()
    res.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const arrivedAt = this.now()
    const exchange = req.headers['x-soak-exchange']
    const id = typeof exchange === 'string' ? exchange : undefined
    if (req.url === REDIRECT_TARGET_PATH) {
      this.serveKeySet(req, res, id, arrivedAt, 'redirect-target')
      return
    }
    if (req.url !== JWKS_PATH) {
      this.post({ type: 'exchange', id, outcome: 'stray', at: arrivedAt, failing: true })
      res.writeHead(404).end()
      return
    }
    const mode = this.mode
    if (mode === 'healthy' || mode === 'calm') {
      this.serveKeySet(req, res, id, arrivedAt, mode)
      return
    }
    this.post({ type: 'exchange', id, outcome: mode, at: arrivedAt, failing: true })
    const variant = this.variant++
    const json = { 'content-type': 'application/json' }
    switch (mode) {
      case 'status-500':
        res.writeHead(variant % 2 === 0 ? 500 : 503, json).end('{"error":"server_error"}')
        return
      case 'status-404':
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
        return
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><html><body><h1>Down for maintenance</h1></body></html>')
        return
      case 'invalid-json': {
        const bodies = [
          Buffer.from(this.keySetBody().slice(0, 40)),
          Buffer.from(`${this.keySetBody()} trailing`),
          Buffer.from([0x7b, 0x22, 0x6b, 0xff, 0xfe, 0x22, 0x3a, 0x5b, 0x5d, 0x7d]), // {"k\xff\xfe":[]}: not UTF-8
        ]
        res.writeHead(200, json).end(bodies[variant % bodies.length])
        return
      }
      case 'empty-set':
        res.writeHead(200, json).end('{"keys":[]}')
        return
      case 'enc-only':
        res.writeHead(200, json).end(JSON.stringify({ keys: this.keys.map((key) => ({ ...key.jwk, use: 'enc' })) }))
        return
      case 'redirect':
        res.writeHead([302, 301, 307, 308][variant % 4] ?? 302, { location: REDIRECT_TARGET_PATH }).end()
        return
      case 'reset':
        if (variant % 2 === 0) {
          req.socket.destroy()
        } else {
          // Headers and part of the body, then the connection drops.
          res.writeHead(200, { ...json, 'content-length': '4096' })
          res.write(this.keySetBody().slice(0, 100), () => req.socket.destroy())
        }
        return
      case 'hang':
        // Never answered; the socket goes when the client gives up, or at close().
        return
      case 'huge': {
        const body = this.keySetBody({ padding: 'x'.repeat(this.config.maxResponseBytes + 16 * 1024) })
        if (variant % 2 === 0) {
          res.writeHead(200, { ...json, 'content-length': Buffer.byteLength(body) }).end(body)
        } else {
          // No Content-Length: the cap must be enforced while streaming.
          res.writeHead(200, json)
          for (let offset = 0; offset < body.length; offset += 8192) res.write(body.slice(offset, offset + 8192))
          res.end()
        }
        return
      }
      case 'trickle': {
        res.writeHead(200, json)
        res.write('{"keys":[')
        const started = this.now()
        const timer = setInterval(() => {
          // A safety stop well past any client deadline.
          if (res.destroyed || this.now() - started > 60_000) {
            clearInterval(timer)
            this.trickles.delete(timer)
            res.destroy()
            return
          }
          res.write(' ')
        }, 20)
        this.trickles.add(timer)
        res.once('close', () => {
          clearInterval(timer)
          this.trickles.delete(timer)
        })
        return
      }
    }
  }
}

if (!isMainThread && (workerData as Partial<WorkerConfig> | undefined)?.role === 'soak-jwks-server' && parentPort !== null) {
  const port = parentPort
  const server = new FaultyJwksServer(workerData as WorkerConfig, (message) => port.postMessage(message))
  port.on('message', (message: ToWorker) => server.onMessage(message))
  server.listen()
}

// ---------------------------------------------------------------------------------------------
// Main side: control and the record

export interface JwksProviderOptions {
  /** The verifier's cap: the huge mode sends more than this. */
  maxResponseBytes: number
  /** The verifier's deadline: a failing exchange is over, client side, this long after it began. */
  fetchTimeoutMs: number
}

/** What the record knows of one exchange, from the server and from the verifier's side. */
interface Exchange {
  /** Arrival at the server, or the verifier's start when the server never saw it. */
  arrivedAt: number
  /** Answered in a failing mode (or a stray path). */
  failing: boolean
  /** The server handed a complete key set (or a 304) to the OS: the keys it held. */
  served: { at: number; kids: readonly string[] } | undefined
  /** The verifier's side: whether it got the whole answer before its deadline. */
  verifier: { at: number; delivered: boolean } | undefined
  settled: boolean
}

/** A key set the verifier took in: `at` is when it finished reading it. */
interface Delivery {
  at: number
  kids: readonly string[]
}

/**
 * Controls the JWKS server worker and keeps the record of what the verifier can hold. An exchange
 * is a delivery only when both sides agree: the server sent a complete key set and the verifier
 * read it before its deadline (reported by the app, see scripts/support/app.ts). Since the verifier
 * fetches one at a time, replaces its set whole on every delivery and keeps it on every failure, its
 * key set at any moment is that of the latest delivery.
 */
export class JwksProvider {
  private readonly worker: Worker
  private mode: Mode = 'healthy'
  private port = 0
  private readonly closed: Promise<void>
  private closedResolve: () => void = () => undefined
  private listeningResolve: (port: number) => void = () => undefined
  private readonly listening = new Promise<number>((resolve) => (this.listeningResolve = resolve))
  private readonly exchanges = new Map<string, Exchange>()
  /** Latest arrival of an exchange that did not deliver, or may not have (not yet settled). */
  private lastUndeliveredArrival = -Infinity

  /** Mode changes, in order. */
  readonly phases: { start: number; mode: Mode }[] = []
  /** Requests by what they got: mode name, `healthy-200` / `-304`, `calm-200` / `-304`, `redirect-target-*`, `stray`. */
  readonly requestsByOutcome = new Map<string, number>()
  /** Deliveries, by `at`. */
  readonly deliveries: Delivery[] = []
  /** Complete key sets the server sent that the verifier did not take in time (host stalls). */
  servedButNotDelivered = 0
  private readonly firstDelivered = new Map<string, number>()
  private readonly lastServed = new Map<string, number>()
  /** Worker errors (must stay empty). */
  readonly errors: string[] = []

  constructor(private readonly options: JwksProviderOptions) {
    const config: WorkerConfig = {
      role: 'soak-jwks-server',
      mainTimeOrigin: performance.timeOrigin,
      maxResponseBytes: options.maxResponseBytes,
    }
    // Worker threads do not inherit tsx's loader: register it, then load this very module.
    const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
      .then((api) => { api.register(); return import(${JSON.stringify(import.meta.url)}) })`
    this.worker = new Worker(boot, { eval: true, workerData: config })
    this.closed = new Promise((resolve) => (this.closedResolve = resolve))
    this.worker.on('message', (message: FromWorker) => this.onMessage(message))
    this.worker.on('error', (error) => this.errors.push(error.stack ?? error.message))
    this.worker.on('exit', () => this.closedResolve())
    this.phases.push({ start: performance.now(), mode: 'healthy' })
  }

  async listen(): Promise<string> {
    this.port = await Promise.race([
      this.listening,
      this.closed.then(() => {
        throw new Error(`the JWKS server did not start: ${this.errors.join('; ')}`)
      }),
    ])
    return this.url
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}${JWKS_PATH}`
  }

  get currentMode(): Mode {
    return this.mode
  }

  setMode(mode: Mode): void {
    if (mode === this.mode) return
    this.mode = mode
    this.phases.push({ start: performance.now(), mode })
    this.send({ type: 'mode', mode })
  }

  setKeys(keys: readonly PublishedKey[]): void {
    this.send({ type: 'keys', keys: keys.map(({ kid, jwk }) => ({ kid, jwk })) })
  }

  /** The verifier's side of exchange `id` (from the app). */
  verifierReport(id: string, startedAt: number, at: number, delivered: boolean): void {
    const exchange = this.exchange(id, startedAt)
    exchange.verifier = { at, delivered }
    this.settle(exchange)
  }

  async close(): Promise<void> {
    this.send({ type: 'close' })
    const timer = setTimeout(() => void this.worker.terminate(), 5_000)
    await this.closed
    clearTimeout(timer)
  }

  /** The key ids the verifier holds at `time`: those of the latest delivery by then. */
  kidsAt(time: number): readonly string[] | undefined {
    let low = 0
    let high = this.deliveries.length
    while (low < high) {
      const middle = (low + high) >> 1
      if ((this.deliveries[middle]?.at ?? Infinity) <= time) low = middle + 1
      else high = middle
    }
    return this.deliveries[low - 1]?.kids
  }

  /** When a delivery first brought `kid` to the verifier, or Infinity. */
  firstDeliveredAt(kid: string): number {
    return this.firstDelivered.get(kid) ?? Infinity
  }

  /** When the server last sent a key set holding `kid` (delivered or not), or -Infinity. */
  lastServedAt(kid: string): number {
    return this.lastServed.get(kid) ?? -Infinity
  }

  /**
   * True when the provider was healthy over all of [from, to]: every mode in force then was
   * healthy, and every exchange that did not (or may not) deliver had begun `fetchTimeoutMs +
   * slackMs` before `from`, so its failure and back-off were under way by then.
   */
  healthyThroughout(from: number, to: number, slackMs: number): boolean {
    if (this.lastUndeliveredArrival + this.options.fetchTimeoutMs + slackMs > from) return false
    for (const exchange of this.exchanges.values()) {
      if (!exchange.settled && exchange.arrivedAt + this.options.fetchTimeoutMs + slackMs > from) return false
    }
    for (let i = this.phases.length - 1; i >= 0; i--) {
      const phase = this.phases[i]
      if (phase === undefined) break
      const end = this.phases[i + 1]?.start ?? Infinity
      if (end <= from) break
      if (phase.start <= to && !isHealthy(phase.mode)) return false
    }
    return true
  }

  /** Longest time without a delivery (between two, and from the last one to `until`). */
  longestDeliveryGap(until: number): number {
    let longest = 0
    for (let i = 1; i < this.deliveries.length; i++) {
      longest = Math.max(longest, (this.deliveries[i]?.at ?? 0) - (this.deliveries[i - 1]?.at ?? 0))
    }
    const last = this.deliveries.at(-1)
    return last === undefined ? Infinity : Math.max(longest, until - last.at)
  }

  get totalRequests(): number {
    let total = 0
    for (const count of this.requestsByOutcome.values()) total += count
    return total
  }

  /** Requests that followed a redirect (the verifier must never). */
  get redirectFollowed(): number {
    return (this.requestsByOutcome.get('redirect-target-200') ?? 0) + (this.requestsByOutcome.get('redirect-target-304') ?? 0)
  }

  get strayRequests(): number {
    return this.requestsByOutcome.get('stray') ?? 0
  }

  private send(message: ToWorker): void {
    this.worker.postMessage(message)
  }

  private exchange(id: string, arrivedAt: number): Exchange {
    let exchange = this.exchanges.get(id)
    if (exchange === undefined) {
      exchange = { arrivedAt, failing: false, served: undefined, verifier: undefined, settled: false }
      this.exchanges.set(id, exchange)
    }
    return exchange
  }

  /** Decides an exchange once both sides have spoken (a failing answer needs only the server). */
  private settle(exchange: Exchange): void {
    if (exchange.settled) return
    if (exchange.failing) {
      exchange.settled = true
      this.lastUndeliveredArrival = Math.max(this.lastUndeliveredArrival, exchange.arrivedAt)
      return
    }
    const { served, verifier } = exchange
    if (verifier === undefined) return
    if (served === undefined && verifier.delivered) return // the server's word is still on its way
    exchange.settled = true
    if (served !== undefined && verifier.delivered) {
      this.addDelivery({ at: verifier.at, kids: served.kids })
    } else {
      if (served !== undefined) this.servedButNotDelivered++
      this.lastUndeliveredArrival = Math.max(this.lastUndeliveredArrival, exchange.arrivedAt)
    }
  }

  private addDelivery(delivery: Delivery): void {
    let index = this.deliveries.length
    while (index > 0 && (this.deliveries[index - 1]?.at ?? -Infinity) > delivery.at) index--
    this.deliveries.splice(index, 0, delivery)
    for (const kid of delivery.kids) {
      if (delivery.at < (this.firstDelivered.get(kid) ?? Infinity)) this.firstDelivered.set(kid, delivery.at)
    }
  }

  private onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'listening':
        this.listeningResolve(message.port)
        return
      case 'exchange': {
        this.requestsByOutcome.set(message.outcome, (this.requestsByOutcome.get(message.outcome) ?? 0) + 1)
        if (message.id === undefined) {
          // Not the verifier's (it always sends an id): count it, and treat it as a failure.
          this.lastUndeliveredArrival = Math.max(this.lastUndeliveredArrival, message.at)
          return
        }
        const exchange = this.exchange(message.id, message.at)
        exchange.arrivedAt = Math.max(exchange.arrivedAt, message.at)
        exchange.failing = message.failing
        this.settle(exchange)
        return
      }
      case 'success': {
        for (const kid of message.kids) {
          if (message.at > (this.lastServed.get(kid) ?? -Infinity)) this.lastServed.set(kid, message.at)
        }
        if (message.id === undefined) return
        const exchange = this.exchange(message.id, message.at)
        exchange.served = { at: message.at, kids: message.kids }
        this.settle(exchange)
        return
      }
      case 'closed':
        void this.worker.terminate()
        return
    }
  }
}
