// The customer 360 timeline: filter chips → the `kinds` parameter, and how each kind of entry looks.
import type { Component } from 'vue'
import {
  Box,
  ChatDotRound,
  ChatLineRound,
  ChatRound,
  CircleCheckFilled,
  Avatar,
  Delete,
  Document,
  EditPen,
  Iphone,
  List,
  Location,
  Lock,
  Message,
  Paperclip,
  Phone,
  Promotion,
  RefreshLeft,
  Share,
  Star,
  TrendCharts,
  User,
  UserFilled,
} from '@element-plus/icons-vue'
import type { Attachment, Interaction, Note, Task, TimelineEntry } from '@/api/types'

/** The chips above the timeline. Several can be on at once; none means everything. */
export const TIMELINE_FILTERS: { key: string; kinds: string[] }[] = [
  { key: 'interaction', kinds: ['interaction'] },
  { key: 'task', kinds: ['task'] },
  { key: 'note', kinds: ['note'] },
  { key: 'lifecycle', kinds: ['stage', 'grade'] },
  { key: 'changes', kinds: ['change', 'contact', 'created', 'deleted', 'restored'] },
]

/** `kinds=` for the chosen chips (kind names and group aliases the server knows), or nothing for all. */
export function kindsParam(selected: string[]): string | undefined {
  const kinds = TIMELINE_FILTERS.filter((f) => selected.includes(f.key)).flatMap((f) => f.kinds)
  return kinds.length ? [...new Set(kinds)].join(',') : undefined
}

export type EntryVariant =
  | 'interaction'
  | 'attachment'
  | 'task'
  | 'note'
  | 'stage'
  | 'grade'
  | 'owner'
  | 'fields'
  | 'contact'
  | 'created'
  | 'lifecycle'
  | 'removed'
  | 'restricted'
  | 'other'

/** Which layout an entry gets. Unknown kinds (a module added later) fall back to a plain line. */
export function entryVariant(e: Pick<TimelineEntry, 'kind' | 'restricted'>): EntryVariant {
  if (e.restricted) return 'restricted'
  switch (e.kind) {
    case 'interaction':
      return 'interaction'
    case 'attachment':
      return 'attachment'
    case 'task_created':
    case 'task_done':
    case 'task_change':
      return 'task'
    case 'note':
      return 'note'
    case 'stage_change':
      return 'stage'
    case 'grade_change':
      return 'grade'
    case 'owner_change':
      return 'owner'
    case 'field_change':
      return 'fields'
    case 'contact':
      return 'contact'
    case 'created':
      return 'created'
    case 'deleted':
    case 'restored':
      return 'lifecycle'
    case 'interaction_deleted':
    case 'attachment_deleted':
    case 'task_deleted':
    case 'note_deleted':
      return 'removed'
    default:
      return 'other'
  }
}

export interface Look {
  icon: Component
  color: string
  background: string
}

const CHANNEL_LOOKS: Record<string, Look> = {
  phone: { icon: Phone, color: '#1f6feb', background: '#e8f0fe' },
  email: { icon: Message, color: '#7c4dff', background: '#f1ebff' },
  meeting: { icon: Avatar, color: '#d97706', background: '#fff4e0' },
  visit: { icon: Location, color: '#0f9d8a', background: '#e0f5f2' },
  social: { icon: Share, color: '#d6336c', background: '#fde8ef' },
  chat: { icon: ChatDotRound, color: '#0891b2', background: '#e0f4f9' },
  wechat: { icon: ChatLineRound, color: '#07a35a', background: '#e3f7ec' },
  sms: { icon: Iphone, color: '#5c6ac4', background: '#eceefb' },
}
const OTHER_CHANNEL: Look = { icon: ChatRound, color: '#64748b', background: '#eef1f5' }

/** The icon and colours of an interaction channel; a workspace's own channels share one look. */
export function channelLook(channel: string | null | undefined): Look {
  return (channel && CHANNEL_LOOKS[channel]) || OTHER_CHANNEL
}

const LOOKS: Record<Exclude<EntryVariant, 'interaction'>, Look> = {
  attachment: { icon: Paperclip, color: '#64748b', background: '#eef1f5' },
  task: { icon: List, color: '#1f6feb', background: '#e8f0fe' },
  note: { icon: EditPen, color: '#b45309', background: '#fdf3e1' },
  stage: { icon: TrendCharts, color: '#0f9d8a', background: '#e0f5f2' },
  grade: { icon: Star, color: '#d97706', background: '#fff4e0' },
  owner: { icon: UserFilled, color: '#5c6ac4', background: '#eceefb' },
  fields: { icon: Document, color: '#64748b', background: '#eef1f5' },
  contact: { icon: User, color: '#0891b2', background: '#e0f4f9' },
  created: { icon: Promotion, color: '#07a35a', background: '#e3f7ec' },
  lifecycle: { icon: RefreshLeft, color: '#d97706', background: '#fff4e0' },
  removed: { icon: Delete, color: '#94a3b8', background: '#f1f5f9' },
  restricted: { icon: Lock, color: '#94a3b8', background: '#f1f5f9' },
  other: { icon: Box, color: '#64748b', background: '#eef1f5' },
}
const DONE: Look = { icon: CircleCheckFilled, color: '#07a35a', background: '#e3f7ec' }

export function entryLook(e: TimelineEntry): Look {
  const v = entryVariant(e)
  if (v === 'interaction') return channelLook(interactionOf(e)?.channel)
  if (v === 'task' && e.kind === 'task_done') return DONE
  if (v === 'lifecycle' && e.kind === 'deleted') return LOOKS.removed
  return LOOKS[v]
}

function record<T>(e: TimelineEntry, key: string): T | null {
  const v = (e.payload as Record<string, unknown> | undefined)?.[key]
  return v && typeof v === 'object' ? (v as T) : null
}

export const interactionOf = (e: TimelineEntry) => record<Interaction>(e, 'interaction')
export const taskOf = (e: TimelineEntry) => record<Task>(e, 'task')
export const noteOf = (e: TimelineEntry) => record<Note>(e, 'note')
export const attachmentOf = (e: TimelineEntry) => record<Attachment>(e, 'attachment')

export interface Change {
  field: string
  old?: unknown
  new?: unknown
}

export function changesOf(e: TimelineEntry): Change[] {
  const raw = (e.payload as Record<string, unknown> | undefined)?.changes
  if (!Array.isArray(raw)) return []
  return raw.filter((c): c is Change => !!c && typeof c === 'object' && typeof (c as Change).field === 'string')
}

/** The change of one field in an entry (stage, grade, owner), if it is there. */
export function changeOf(e: TimelineEntry, field: string): Change | null {
  return changesOf(e).find((c) => c.field === field) ?? null
}

/** The fields worth showing for a new customer: who, what and where, not every empty column. */
export const CREATED_FIELDS = ['kind', 'stage', 'grade', 'source', 'owner_id', 'city', 'industry', 'phones']
