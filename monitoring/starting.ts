// What answers on the platform's port while it starts (migrations, the repair of what a crash
// left half-done, building the dashboard): liveness 200, readiness and everything else 503 with
// Retry-After, so a load balancer waits instead of sending traffic to a closed port or a half-
// migrated warehouse. main.ts closes it just before the app listens on the same port.
import { createServer } from 'node:http'

export interface StartingServer {
  /** What start-up is doing now (shown in the answers). */
  phase: string
  close(): Promise<void>
}

export async function startingServer(host: string, port: number): Promise<StartingServer> {
  const state = { phase: 'starting' }
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    const body = (status: number, value: object) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '5', 'cache-control': 'no-store' })
      res.end(JSON.stringify(value))
    }
    if (path === '/api/v1/health') return body(200, { status: 'starting', phase: state.phase })
    if (path === '/api/v1/health/ready') return body(503, { ready: false, status: 'starting', phase: state.phase, problems: [{ check: 'starting', message: `The server is starting (${state.phase}).` }] })
    return body(503, { error: 'starting', message: `The server is starting (${state.phase}); try again in a few seconds.` })
  })
  // a port already taken is reported by the app's own listen, with its message
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, host, () => resolve(true))
  })
  return {
    get phase() {
      return state.phase
    },
    set phase(p: string) {
      state.phase = p
    },
    close: () => new Promise<void>((resolve) => {
      if (!listening) return resolve()
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}
