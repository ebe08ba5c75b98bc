import dayjs from 'dayjs'
import utc from 'dayjs/plugin/utc'
import timezone from 'dayjs/plugin/timezone'
import relativeTime from 'dayjs/plugin/relativeTime'
import 'dayjs/locale/zh-cn'

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

/** A "YYYY-MM-DD HH:mm" wall-clock time in the user's zone → UTC ISO 8601 for the API. */
export function localInputToUtc(value: string | null | undefined, tz = getUserTimezone()): string | null {
  if (!value) return null
  const d = dayjs.tz(value, 'YYYY-MM-DD HH:mm', tz)
  return d.isValid() ? d.utc().format('YYYY-MM-DDTHH:mm:ss[Z]') : null
}

/** A UTC instant from the API → "YYYY-MM-DD HH:mm" in the user's zone, for a date-time picker. */
export function utcToLocalInput(value: string | null | undefined, tz = getUserTimezone()): string {
  if (!value) return ''
  const d = dayjs.utc(value)
  return d.isValid() ? d.tz(tz).format('YYYY-MM-DD HH:mm') : ''
}

/** Now (or now + days at a given hour) as a picker value in the user's zone. */
export function localInputNow(tz = getUserTimezone(), now: Date = new Date()): string {
  return dayjs(now).tz(tz).format('YYYY-MM-DD HH:mm')
}
export function localInputAt(daysFromToday: number, hour: number, tz = getUserTimezone(), now: Date = new Date()): string {
  return dayjs(now).tz(tz).add(daysFromToday, 'day').hour(hour).minute(0).format('YYYY-MM-DD HH:mm')
}

/** The calendar day of an instant in the user's zone: "2026-11-23". */
export function localDay(value: string, tz = getUserTimezone()): string {
  return dayjs.utc(value).tz(tz).format('YYYY-MM-DD')
}

/** "14:05" in the user's zone. */
export function formatTime(value: string | null | undefined, tz = getUserTimezone()): string {
  if (!value) return ''
  return dayjs.utc(value).tz(tz).format('HH:mm')
}

/** Whole calendar days from `value`'s day to today's, in the user's zone (negative: in the future). */
export function daysFromToday(value: string, tz = getUserTimezone(), now: Date = new Date()): number {
  const day = dayjs.tz(localDay(value, tz), tz)
  const today = dayjs.tz(dayjs(now).tz(tz).format('YYYY-MM-DD'), tz)
  return Math.round(today.diff(day, 'hour') / 24)
}

type Translate = (key: string, values?: Record<string, unknown>) => string

/**
 * How long ago a customer was last contacted, from the server's `days_since_contact`:
 * "今天", "昨天", "12 天前", or "从未联系" when there is no contact at all.
 */
export function formatDaysSince(days: number | null | undefined, t: Translate): string {
  if (days === null || days === undefined) return t('contactAgo.never')
  if (days <= 0) return t('contactAgo.today')
  if (days === 1) return t('contactAgo.yesterday')
  return t('contactAgo.days', { n: days })
}

/** A calendar-day heading for a timeline: "今天", "昨天", or the date (with the year when not this year). */
export function formatDayHeading(day: string, t: Translate, lang: string, tz = getUserTimezone(), now: Date = new Date()): string {
  const today = dayjs(now).tz(tz).format('YYYY-MM-DD')
  const yesterday = dayjs(now).tz(tz).subtract(1, 'day').format('YYYY-MM-DD')
  if (day === today) return t('contactAgo.today')
  if (day === yesterday) return t('contactAgo.yesterday')
  const [y, m, d] = day.split('-').map(Number)
  const date = new Date(Date.UTC(y, m - 1, d, 12))
  const sameYear = today.slice(0, 4) === day.slice(0, 4)
  return new Intl.DateTimeFormat(lang, {
    timeZone: 'UTC',
    year: sameYear ? undefined : 'numeric',
    month: lang === 'en' ? 'short' : 'long',
    day: 'numeric',
    weekday: 'short',
  }).format(date)
}

/** "3.2 MB", "120 KB", "800 B". */
export function formatFileSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return ''
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`
}

/** "3 分钟前" / "3 minutes ago". */
export function formatRelative(value: string | null | undefined, lang = 'zh-CN', now: Date = new Date()): string {
  if (!value) return ''
  const d = dayjs.utc(value)
  if (!d.isValid()) return value
  return d.locale(lang === 'en' ? 'en' : 'zh-cn').from(dayjs(now))
}
