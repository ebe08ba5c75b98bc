import dayjs from 'dayjs'
import utc from 'dayjs/plugin/utc'
import timezone from 'dayjs/plugin/timezone'
import relativeTime from 'dayjs/plugin/relativeTime'

dayjs.extend(utc)
dayjs.extend(timezone)
dayjs.extend(relativeTime)

let userTimezone: string | null = null

/** The signed-in user's time zone (from /me); all times are shown in it. */
export function setUserTimezone(tz: string | null | undefined): void {
  userTimezone = tz && isValidTimezone(tz) ? tz : null
}

export function getUserTimezone(): string {
  return userTimezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'Asia/Shanghai'
}

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

/** "2026-11-23 16:00" in the user's time zone. */
export function formatDateTime(value: string | null | undefined, tz = getUserTimezone()): string {
  if (!value) return ''
  const d = dayjs.utc(value)
  if (!d.isValid()) return value
  return d.tz(tz).format('YYYY-MM-DD HH:mm')
}

/** A calendar date (YYYY-MM-DD) is shown as is: it has no time zone. */
export function formatDate(value: string | null | undefined): string {
  if (!value) return ''
  return value.slice(0, 10)
}

/** Start and end of a calendar-day range in the user's zone, as UTC ISO strings. */
export function dayRangeToUtc(start: string, end: string, tz = getUserTimezone()): [string, string] {
  return [
    dayjs.tz(start, tz).startOf('day').utc().format('YYYY-MM-DDTHH:mm:ss[Z]'),
    dayjs.tz(end, tz).endOf('day').utc().format('YYYY-MM-DDTHH:mm:ss[Z]'),
  ]
}

export function formatMoney(value: string | number | null | undefined, lang = 'zh-CN'): string {
  if (value === null || value === undefined || value === '') return ''
  const n = typeof value === 'number' ? value : Number(value)
  if (!Number.isFinite(n)) return String(value)
  return new Intl.NumberFormat(lang, { style: 'currency', currency: 'CNY', currencyDisplay: 'narrowSymbol' }).format(n)
}

export function formatNumber(value: string | number | null | undefined, lang = 'zh-CN'): string {
  if (value === null || value === undefined || value === '') return ''
  const n = typeof value === 'number' ? value : Number(value)
  if (!Number.isFinite(n)) return String(value)
  return new Intl.NumberFormat(lang, { maximumFractionDigits: 6 }).format(n)
}

export function timezones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] }
  const list = intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : []
  const common = ['Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Taipei', 'Asia/Singapore', 'Asia/Tokyo', 'Europe/London', 'Europe/Berlin', 'America/New_York', 'America/Los_Angeles', 'UTC']
  return Array.from(new Set([...common, ...list]))
}
