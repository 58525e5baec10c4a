// GET /api/v1/health (no sign-in needed): the engine, the time zone and the calendar's coverage,
// with a warning while a year counted in figures has only a provisional calendar. Loaded once per
// page load by the root layout (the calendar banner), again after an admin stores an arrangement.
import { api } from './api.ts'

export interface CalendarWarning { code: string; years: number[]; message: string }

export interface Health {
  status: string
  warehouse: string
  timezone: string
  calendar: {
    first_year: number | null
    last_year: number | null
    years: number[]
    /** years worked out from the statutory holidays, not the State Council's arrangement */
    provisional_years?: number[]
    warning?: CalendarWarning | null
  }
}

export const health = $state<{ value: Health | null }>({ value: null })

let loading: Promise<Health | null> | undefined
/** The health answer, asked once (`fresh`: ask again, after the calendar changed). A failure leaves no banner. */
export function loadHealth(fresh = false): Promise<Health | null> {
  if (fresh) loading = undefined
  loading ??= api<Health>('/api/v1/health').then((h) => (health.value = h), () => {
    loading = undefined
    return null
  })
  return loading
}
