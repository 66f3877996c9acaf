import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net'

/** A real HTTP server on 127.0.0.1, on a port the system picked. */
export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string
  /** Paths requested so far, in order. */
  readonly paths: string[]
  /** Request headers of every request, in order. */
  readonly headers: IncomingMessage['headers'][]
  /** An absolute URL on this server. */
  url(path: string): string
  /** Destroys every open connection and stops listening. */
  close(): Promise<void>
}

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void

function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

/** Starts an HTTP server whose every request goes to `handle`. Close it after the test. */
export async function startServer(handle: RequestHandler): Promise<TestServer> {
  const paths: string[] = []
  const headers: IncomingMessage['headers'][] = []
  const server = createServer((request, response) => {
    paths.push(request.url ?? '')
    headers.push(request.headers)
    handle(request, response)
  })
  const port = await listen(server)
  const origin = `http://127.0.0.1:${port}`
  return {
    origin,
    paths,
    headers,
    url: (path) => `${origin}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A raw TCP server on 127.0.0.1, for peers that do not speak HTTP properly. */
export interface TcpTestServer {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string
  /** Connections accepted so far. */
  accepted(): number
  /** Destroys every open connection and stops listening. */
  close(): Promise<void>
}

/**
 * Starts a TCP server that hands each connection to `onSocket`; by default it accepts and never
 * sends a byte. Close it after the test.
 */
export async function startTcpServer(onSocket: (socket: Socket) => void = () => undefined): Promise<TcpTestServer> {
  const sockets = new Set<Socket>()
  let accepted = 0
  const server = createTcpServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
    onSocket(socket)
  })
  const port = await listen(server)
  return {
    origin: `http://127.0.0.1:${port}`,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** What the server saw of a body it streamed. */
export interface PumpOutcome {
  /** Bytes handed to the socket before the stream ended or the peer went away. */
  sent: number
  /** True when the whole body was written; false when the client closed the connection first. */
  complete: boolean
}

/**
 * Streams `totalBytes` of filler, honouring backpressure, so a client that stops reading stops the
 * server too. Resolves when the body is complete or the connection closed.
 */
export function pump(response: ServerResponse, totalBytes: number, chunk: Buffer = Buffer.alloc(64 * 1024, 0x20)): Promise<PumpOutcome> {
  return new Promise((resolve) => {
    let sent = 0
    response.on('close', () => resolve({ sent, complete: response.writableFinished }))
    const write = (): void => {
      while (sent < totalBytes) {
        if (response.destroyed) return
        const piece = chunk.subarray(0, Math.min(chunk.length, totalBytes - sent))
        sent += piece.length
        if (!response.write(piece)) {
          response.once('drain', write)
          return
        }
      }
      response.end()
    }
    write()
  })
}

/** Sends one byte every `intervalMs` and never ends the body; resolves when the client goes away. */
export function trickle(response: ServerResponse, intervalMs = 20): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => response.write(' '), intervalMs)
    response.on('close', () => {
      clearInterval(timer)
      resolve()
    })
  })
}
