import { describe, expect, it } from 'vitest'
import {
  daysFromToday,
  formatDayHeading,
  formatDaysSince,
  formatFileSize,
  localInputToUtc,
  utcToLocalInput,
} from '@/utils/format'
import { dueLabel, reminderLabel } from '@/modules/tasks/tasks'
import { idleClass } from '@/modules/customers/idle'
import { i18n } from '@/i18n'

const t = (k: string, v?: Record<string, unknown>) => i18n.global.t(k, v ?? {})

describe('days since the last contact', () => {
  it('reads like people say it, in both languages', () => {
    i18n.global.locale.value = 'zh-CN'
    expect(formatDaysSince(12, t)).toBe('12 天前')
    expect(formatDaysSince(1, t)).toBe('昨天')
    expect(formatDaysSince(0, t)).toBe('今天')
    expect(formatDaysSince(null, t)).toBe('从未联系')
    expect(formatDaysSince(undefined, t)).toBe('从未联系')
    i18n.global.locale.value = 'en'
    expect(formatDaysSince(12, t)).toBe('12 days ago')
    expect(formatDaysSince(null, t)).toBe('Never contacted')
    i18n.global.locale.value = 'zh-CN'
  })

  it('colours a long silence', () => {
    expect(idleClass(null)).toBe('never')
    expect(idleClass(3)).toBe('recent')
    expect(idleClass(20)).toBe('ok')
    expect(idleClass(30)).toBe('idle')
    expect(idleClass(120)).toBe('stale')
  })
})

describe('times in the user zone', () => {
  it('turns picker values into UTC and back', () => {
    expect(localInputToUtc('2026-11-23 09:30', 'Asia/Shanghai')).toBe('2026-11-23T01:30:00Z')
    expect(utcToLocalInput('2026-11-23T01:30:00Z', 'Asia/Shanghai')).toBe('2026-11-23 09:30')
    expect(localInputToUtc('', 'Asia/Shanghai')).toBeNull()
  })

  it('counts calendar days in the zone, not 24-hour spans', () => {
    const now = new Date('2026-11-23T01:00:00Z') // 09:00 in Shanghai
    expect(daysFromToday('2026-11-22T16:30:00Z', 'Asia/Shanghai', now)).toBe(0) // 00:30 the same local day
    expect(daysFromToday('2026-11-22T15:59:00Z', 'Asia/Shanghai', now)).toBe(1) // 23:59 the day before, minutes ago
    expect(daysFromToday('2026-11-22T02:00:00Z', 'Asia/Shanghai', now)).toBe(1)
    expect(daysFromToday('2026-11-24T02:00:00Z', 'Asia/Shanghai', now)).toBe(-1)
  })

  it('heads a timeline day with today, yesterday or the date', () => {
    const now = new Date('2026-11-23T04:00:00Z')
    expect(formatDayHeading('2026-11-23', t, 'zh-CN', 'Asia/Shanghai', now)).toBe('今天')
    expect(formatDayHeading('2026-11-22', t, 'zh-CN', 'Asia/Shanghai', now)).toBe('昨天')
    expect(formatDayHeading('2026-11-20', t, 'zh-CN', 'Asia/Shanghai', now)).toContain('11月20日')
    expect(formatDayHeading('2025-11-20', t, 'zh-CN', 'Asia/Shanghai', now)).toContain('2025')
    expect(formatDayHeading('2026-11-20', t, 'en', 'Asia/Shanghai', now)).toContain('Nov 20')
  })

  it('says when a task is due', () => {
    const now = new Date('2026-11-23T02:00:00Z') // 10:00 in Shanghai
    const due = (at: string, status = 'open') => dueLabel({ due_at: at, status }, t, 'Asia/Shanghai', now)
    expect(due('2026-11-23T06:00:00Z')).toBe('今天 14:00')
    expect(due('2026-11-24T02:00:00Z')).toBe('明天 10:00')
    expect(due('2026-11-20T02:00:00Z')).toBe('已逾期 3 天')
    expect(due('2026-11-20T02:00:00Z', 'done')).toBe('11-20 10:00')
    expect(due('2027-01-05T02:00:00Z')).toBe('2027-01-05 10:00')
  })

  it('names reminders', () => {
    expect(reminderLabel(null, t)).toBe('不提醒')
    expect(reminderLabel(0, t)).toBe('到期时提醒')
    expect(reminderLabel(15, t)).toBe('提前 15 分钟')
    expect(reminderLabel(120, t)).toBe('提前 2 小时')
    expect(reminderLabel(1440, t)).toBe('提前 1 天')
  })

  it('sizes files', () => {
    expect(formatFileSize(800)).toBe('800 B')
    expect(formatFileSize(2048)).toBe('2 KB')
    expect(formatFileSize(3.5 * 1024 * 1024)).toBe('3.5 MB')
    expect(formatFileSize(25 * 1024 * 1024)).toBe('25 MB')
  })
})
