// Who is signed in, as GET /api/v1/session says; loaded once by the root layout.
import { api, ApiError } from './api.ts'

export interface SessionUser {
  username: string
  display_name: string
  role: 'joint_meeting' | 'unit_leader' | 'inspector' | 'admin'
  units: string[]
  unit_names: Record<string, string>
}

export const session = $state<{ user: SessionUser | null; checked: boolean; ended: boolean }>({ user: null, checked: false, ended: false })

export async function loadSession(): Promise<SessionUser | null> {
  try {
    session.user = (await api<{ user: SessionUser }>('/api/v1/session')).user
  } catch (err) {
    session.user = null
    // a cookie that no longer opens a session (expired, signed out elsewhere, tampered with)
    session.ended = err instanceof ApiError && err.code === 'session_ended'
  }
  session.checked = true
  return session.user
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
export function viewsOf(user: SessionUser): Array<'meeting' | 'unit' | 'inspect' | 'quality'> {
  switch (user.role) {
    case 'joint_meeting': return ['meeting', 'inspect']
    case 'unit_leader': return ['unit']
    case 'inspector': return ['inspect']
    case 'admin': return ['meeting', 'inspect', 'quality']
  }
}
