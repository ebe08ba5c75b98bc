// Task vocabulary shared by the task dialog, the task rows and the timeline.
import type { Task } from '@/api/types'
import { daysFromToday, getUserTimezone } from '@/utils/format'

type Translate = (key: string, values?: Record<string, unknown>) => string

export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const
export const REPEATS = ['none', 'daily', 'weekly', 'monthly'] as const
export const BUCKETS = ['overdue', 'today', 'upcoming'] as const
export type Priority = (typeof PRIORITIES)[number]
export type Repeat = (typeof REPEATS)[number]
export type Bucket = (typeof BUCKETS)[number]

/** Reminder choices, in minutes before the due time (null: no reminder). */
export const REMIND_OPTIONS: (number | null)[] = [null, 0, 15, 30, 60, 120, 1440]

/** "提前 15 分钟", "提前 1 小时", "提前 1 天", "到期时", "不提醒". */
export function reminderLabel(minutes: number | null | undefined, t: Translate): string {
  if (minutes === null || minutes === undefined) return t('tasks.remind.none')
  if (minutes === 0) return t('tasks.remind.atDue')
  if (minutes % 1440 === 0) return t('tasks.remind.days', { n: minutes / 1440 })
  if (minutes % 60 === 0) return t('tasks.remind.hours', { n: minutes / 60 })
  return t('tasks.remind.minutes', { n: minutes })
}

/** The due date as people say it: "已逾期 3 天", "今天 14:00", "明天 10:00", "11-30 10:00". */
export function dueLabel(task: Pick<Task, 'due_at' | 'status'>, t: Translate, tz = getUserTimezone(), now: Date = new Date()): string {
  const days = daysFromToday(task.due_at, tz, now)
  const time = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(task.due_at))
  const overdue = task.status === 'open' && new Date(task.due_at).getTime() < now.getTime()
  if (overdue && days >= 1) return t('tasks.due.overdueDays', { n: days })
  if (days === 0) return t('tasks.due.today', { time })
  if (days === -1) return t('tasks.due.tomorrow', { time })
  if (days === 1) return t('tasks.due.yesterday', { time })
  const date = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(task.due_at))
  const sameYear = date.slice(0, 4) === new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric' }).format(now)
  return t('tasks.due.on', { date: sameYear ? date.slice(5) : date, time })
}

export function isOverdue(task: Pick<Task, 'due_at' | 'status'>, now: Date = new Date()): boolean {
  return task.status === 'open' && new Date(task.due_at).getTime() < now.getTime()
}
