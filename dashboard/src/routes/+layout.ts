// Everything is read in the browser through the API: no server-side rendering, no prerendering.
export const ssr = false
export const prerender = false
