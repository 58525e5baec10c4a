// What every module's routes share: errors with a code and a status. Who may call a route is
// auth's (auth/access.ts).
import type { FastifyReply } from 'fastify'

/** An error that becomes an HTTP answer `{ error: code, message }`. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message)
  }
}

export function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  return reply.code(err.statusCode).send({ error: err.code, message: err.message, ...err.details })
}
