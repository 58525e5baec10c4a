// dashboard: the SvelteKit + ECharts app people use in a browser, built to static files
// (build.ts) and served here by the API's own process. Every path that is not an API route or
// a file of the build gets the app's shell, and the app's router takes it from there.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import fastifyStatic from '@fastify/static'
import type { Platform } from '../warehouse/index.ts'
import { BUILD_DIR } from './build.ts'

export { ensureDashboardBuilt, dashboardIsBuilt, BUILD_DIR } from './build.ts'

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>tierscope</title>
<p>The dashboard has not been built in this checkout. <code>npm start</code> and <code>npm run demo</code> build it;
or run <code>npm run build</code>. The API is at <a href="/docs">/docs</a>.</p>`

export async function dashboardRoutes(app: FastifyInstance, _opts: { platform: Platform }): Promise<void> {
  const built = existsSync(join(BUILD_DIR, 'index.html'))
  if (built) {
    await app.register(fastifyStatic, {
      root: BUILD_DIR,
      wildcard: false,
      index: false,
      // file names under _app/immutable carry their content hash
      setHeaders: (res, path) => res.raw.setHeader('cache-control', path.includes('/_app/immutable/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
    })
  }
  const shell = (_request: unknown, reply: import('fastify').FastifyReply) =>
    built ? reply.header('cache-control', 'no-cache').sendFile('index.html') : reply.type('text/html; charset=utf-8').send(NOT_BUILT)
  app.get('/', { schema: { hide: true } }, shell)
  app.get('/*', { schema: { hide: true } }, (request, reply) => {
    // an unknown API path is the API's 404, not the app's shell
    if (request.url.startsWith('/api/')) return reply.callNotFound()
    return shell(request, reply)
  })
}
