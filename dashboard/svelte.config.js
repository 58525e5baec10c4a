// The dashboard is a single-page app: built once to static files that the API process serves
// (dashboard/index.ts), reading everything through the API with the visitor's session cookie.
import adapter from '@sveltejs/adapter-static'
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte'

export default {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: false }),
    files: { assets: 'static' },
  },
}
