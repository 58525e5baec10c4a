// dashboard: what people see in a browser. For now a start page served by the API process that
// reads the live API with a key the visitor pastes in; the SvelteKit + ECharts dashboard will
// replace it (see README.md).
import type { FastifyInstance } from 'fastify'
import type { Platform } from '../warehouse/index.ts'
import { startPage } from './start-page.ts'

export async function dashboardRoutes(app: FastifyInstance, _opts: { platform: Platform }): Promise<void> {
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(startPage))
}
