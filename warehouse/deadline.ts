// A case's deadline as a date, for people (the clock itself never needs it): the last working day
// on which the case is still on time, read from its elapsed working days E and its limit P at a
// reference day r (the day it stopped, or the day asked about). From r on, E grows by one per
// working day, so the deadline is the working day d with W(d) = W(r) + (P − E): forward when
// time is left, backward when the case is already over. Later suspensions would move it.

/** The deadline date, or null when the case has no limit; throws where the calendar is missing. */
export function deadlineOf(isWorkingDay: (date: string) => boolean, reference: string, limitDays: number, elapsedDays: number): string {
  const remaining = limitDays - elapsedDays
  let d = new Date(`${reference}T00:00:00Z`)
  const iso = () => d.toISOString().slice(0, 10)
  const step = (days: number) => (d = new Date(d.getTime() + days * 86_400_000))
  if (remaining > 0) {
    for (let counted = 0; counted < remaining; ) {
      step(1)
      if (isWorkingDay(iso())) counted++
    }
    return iso()
  }
  // the last working day on or before r has W(r); then count back
  while (!isWorkingDay(iso())) step(-1)
  for (let counted = 0; counted < -remaining; ) {
    step(-1)
    if (isWorkingDay(iso())) counted++
  }
  return iso()
}
