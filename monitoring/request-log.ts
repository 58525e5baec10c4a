// Logs people can search by request: fastify's pino writes JSON lines; every line of a request
// carries its id (`reqId`), the route (its pattern) and, once the caller is known, the key's or
// user's name and role — never a token. One access line per request, when it is answered. The
// id goes back in the `x-request-id` header and in every error body (`request_id`), so a user's
// report of an error finds its lines.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { HttpError, type Platform } from '../warehouse/index.ts'

export const REQUEST_ID_HEADER = 'x-request-id'

/** fastify's genReqId: a random UUID (an id a proxy sends in X-Request-ID is used instead when fastify is told to trust it). */
export const newRequestId = (): string => randomUUID()

/** A request id a proxy may pass on: printable, short. */
export const acceptableRequestId = (id: unknown): id is string => typeof id === 'string' && /^[\w.:@/+=-]{1,128}$/.test(id)

export function installRequestLog(app: FastifyInstance, platform: Platform): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id)
  })
  // preParsing runs after every onRequest hook (the cookie plugin's included) and before the
  // body is read: from here on, every line of the request names its caller
  const named = new WeakSet<FastifyRequest>()
  const name = (request: FastifyRequest) => {
    // the caller auth's access hook found (a route open to anyone has none): never authenticated
    // again here, which would count as a use of the key
    const caller = request.principal ? { name: request.principal.name, role: request.principal.role } : undefined
    request.log = request.log.child({ route: request.routeOptions.url ?? 'unmatched', ...(caller ? { key: caller.name, role: caller.role } : {}) })
    named.add(request)
  }
  app.addHook('preParsing', async (request, _reply, payload) => {
    name(request)
    return payload
  })
  // a request refused before its body (auth's access check answers 401 or 403 in onRequest)
  // never reaches preParsing: its lines are named when it is answered
  app.addHook('onError', async (request) => {
    if (!named.has(request)) name(request)
  })
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode < 400 || typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').includes('json')) return payload
    try {
      const body = JSON.parse(payload) as unknown
      if (body && typeof body === 'object' && !Array.isArray(body) && 'error' in body && !('request_id' in body)) {
        return JSON.stringify({ ...body, request_id: request.id })
      }
    } catch {
      // not JSON after all: sent as it is
    }
    return payload
  })
  app.addHook('onResponse', async (request, reply) => {
    if (!named.has(request)) name(request)
    const status = reply.statusCode
    const line = { method: request.method, url: request.url, status, ms: Math.round(reply.elapsedTime * 10) / 10 }
    if (status >= 500) request.log.error(line, 'request answered')
    else request.log.info(line, 'request answered')
  })
}
