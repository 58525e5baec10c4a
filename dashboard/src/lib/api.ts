// Every figure on screen comes from the API, read with the visitor's session cookie.
import { goto } from '$app/navigation'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** the rest of the error body (e.g. the line a notice could not be read at) */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    ...init,
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
  })
  if (response.status === 204) return undefined as T
  const body = (await response.json().catch(() => ({}))) as { error?: string; message?: string }
  if (!response.ok) {
    // an ended session goes back to the sign-in page, and returns here afterwards
    if (response.status === 401 && !path.startsWith('/api/v1/session')) {
      const next = location.pathname + location.search
      void goto(`/login?next=${encodeURIComponent(next)}&ended=1`)
    }
    const { error, message, ...details } = body
    throw new ApiError(response.status, error ?? 'error', message ?? response.statusText, details)
  }
  return body as T
}

/** A query string from the defined values only. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v))
  const s = p.toString()
  return s ? `?${s}` : ''
}

/** Every page of a cursor-paged list (for exports), up to `max` rows. */
export async function allPages<Row>(path: string, params: Record<string, string | number | boolean | undefined>, max = 20_000): Promise<Row[]> {
  const rows: Row[] = []
  let cursor: string | undefined
  do {
    const page = await api<{ rows: Row[]; next_cursor: string | null }>(path + qs({ ...params, limit: 1000, cursor }))
    rows.push(...page.rows)
    cursor = page.next_cursor ?? undefined
  } while (cursor && rows.length < max)
  return rows
}
