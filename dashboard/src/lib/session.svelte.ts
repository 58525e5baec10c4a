// Who is signed in, as GET /api/v1/session says; loaded once by the root layout.
import { api, ApiError } from './api.ts'

export interface SessionUser {
  username: string
  display_name: string
  role: 'joint_meeting' | 'unit_leader' | 'inspector' | 'admin'
  units: string[]
  unit_names: Record<string, string>
}

export const session = $state<{ user: SessionUser | null; ended: boolean }>({ user: null, ended: false })

export async function loadSession(): Promise<SessionUser | null> {
  try {
    session.user = (await api<{ user: SessionUser }>('/api/v1/session')).user
  } catch (err) {
    session.user = null
    // a cookie that no longer opens a session (expired, signed out elsewhere, tampered with), or
    // none at all where this browser was signed in (the browser drops the cookie when it expires)
    session.ended = (err instanceof ApiError && err.code === 'session_ended') || wasSignedIn()
    markSignedIn(false)
  }
  if (session.user) markSignedIn(true)
  return session.user
}

/** Remembers in this browser that someone signed in, to tell "ended" from "never signed in". */
export function markSignedIn(on: boolean): void {
  try {
    if (on) localStorage.setItem('tierscope.signedIn', '1')
    else localStorage.removeItem('tierscope.signedIn')
  } catch {
    // storage unavailable: the sign-in page just does not say why
  }
}

function wasSignedIn(): boolean {
  try {
    return localStorage.getItem('tierscope.signedIn') === '1'
  } catch {
    return false
  }
}

/** Where a user starts: the view made for their role. */
export function homeOf(user: SessionUser): string {
  switch (user.role) {
    case 'joint_meeting': return '/meeting'
    case 'unit_leader': return `/unit/${encodeURIComponent(user.units[0] ?? '')}`
    case 'inspector': return '/inspect'
    case 'admin': return '/quality'
  }
}

/** The views each role may open (the API checks the data itself). */
export function viewsOf(user: SessionUser): Array<'meeting' | 'unit' | 'inspect' | 'quality' | 'reports' | 'calendar' | 'access' | 'audit'> {
  switch (user.role) {
    case 'joint_meeting': return ['meeting', 'inspect', 'reports']
    case 'unit_leader': return ['unit', 'reports']
    case 'inspector': return ['inspect']
    case 'admin': return ['meeting', 'inspect', 'reports', 'quality', 'calendar', 'access', 'audit']
  }
}
