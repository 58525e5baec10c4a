// dashboard: the SvelteKit + ECharts app people use in a browser, built to static files
// (build.ts) and served here by the API's own process. Every path that is not an API route or
// a file of the build gets the app's shell, and the app's router takes it from there.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import fastifyStatic from '@fastify/static'
import type { Platform } from '../warehouse/index.ts'
import { BUILD_DIR } from './build.ts'

export { ensureDashboardBuilt, dashboardIsBuilt, BUILD_DIR } from './build.ts'

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>tierscope</title>
<p>The dashboard has not been built in this checkout. <code>npm start</code> and <code>npm run demo</code> build it;
or run <code>npm run build</code>. The API is at <a href="/docs">/docs</a>.</p>`

/**
 * The SHA-256 of every inline `<script>` in the built pages (SvelteKit's bootstrap, which names
 * the build's entry files and so changes with every build), as CSP sources `'sha256-…'`.
 * Read once, when the routes are registered: the shell served is the one these hashes are of.
 */
export function inlineScriptHashes(dir = BUILD_DIR): string[] {
  if (!existsSync(dir)) return []
  const hashes = new Set<string>()
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.html'))) {
    const html = readFileSync(join(dir, name), 'utf8')
    for (const m of html.matchAll(/<script(\s[^>]*)?>([\s\S]*?)<\/script\s*>/gi)) {
      if (/\ssrc\s*=/i.test(m[1] ?? '')) continue
      hashes.add(`'sha256-${createHash('sha256').update(m[2]!, 'utf8').digest('base64')}'`)
    }
  }
  return [...hashes]
}

/**
 * The dashboard's Content-Security-Policy: its own files only; the one inline script allowed by
 * its hash; style attributes inline (Svelte's templates and ECharts' SVG and tooltips write
 * `style="…"`), style *elements* only from files; the API on the same origin; the published
 * reports in an `<iframe>` of the same origin (/reports page); never framed itself.
 */
export function dashboardCsp(scriptHashes: string[]): Record<string, string[]> {
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'", ...scriptHashes],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'"],
    'style-src-attr': ["'unsafe-inline'"],
    'img-src': ["'self'", 'data:', 'blob:'],
    'font-src': ["'self'", 'data:'],
    'connect-src': ["'self'"],
    'frame-src': ["'self'"],
    'worker-src': ["'none'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  }
}

export async function dashboardRoutes(app: FastifyInstance, _opts: { platform: Platform }): Promise<void> {
  const built = existsSync(join(BUILD_DIR, 'index.html'))
  // every route of this plugin (the shell, the built files) answers with the dashboard's policy;
  // @fastify/helmet (app.ts) reads a route's config.helmet in place of its global options
  const helmet = { contentSecurityPolicy: { useDefaults: false, directives: dashboardCsp(inlineScriptHashes()) } }
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), helmet } as typeof route.config
  })
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
