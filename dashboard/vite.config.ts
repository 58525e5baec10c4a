import { sveltekit } from '@sveltejs/kit/vite'
import { defineConfig } from 'vite'

export default defineConfig({
  plugins: [sveltekit()],
  build: { chunkSizeWarningLimit: 1500 },
  // the server half (used only to write the static shell) bundles kit's own cookie parser, which
  // differs from the one fastify's cookie plugin installs at the top of node_modules
  ssr: { noExternal: ['@sveltejs/kit', 'cookie', 'set-cookie-parser'] },
  // `vite dev` in dashboard/ proxies the API to a running `npm run demo`
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
})
