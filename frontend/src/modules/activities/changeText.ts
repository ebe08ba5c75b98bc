import { useI18n } from 'vue-i18n'
import { useLabels } from '@/composables/useLabels'
import { useMetaStore } from '@/stores/meta'
import { formatDateTime } from '@/utils/format'
import { reminderLabel } from '@/modules/tasks/tasks'
import type { Change } from './timeline'

const LONG_TEXT = 120

/** Labels and values of a field change on the timeline, by the kind of record that changed. */
export function useChangeText() {
  const { t, te } = useI18n()
  const { fieldLabel, changeValue } = useLabels()
  const meta = useMetaStore()

  function clip(s: string): string {
    return s.length > LONG_TEXT ? `${s.slice(0, LONG_TEXT - 1)}…` : s
  }

  function label(recordType: string, field: string): string {
    const group = recordType === 'interaction' ? 'interaction.fields' : recordType === 'task' ? 'tasks.fields' : recordType === 'contact' ? 'contact' : null
    if (group) return te(`${group}.${field}`) ? t(`${group}.${field}`) : field
    return fieldLabel(field)
  }

  function plain(v: unknown): string {
    if (v === null || v === undefined || v === '') return ''
    if (Array.isArray(v)) return v.map((x) => plain(x)).join('、')
    if (typeof v === 'boolean') return v ? t('common.yes') : t('common.no')
    if (typeof v === 'object') return JSON.stringify(v)
    return clip(String(v))
  }

  function value(recordType: string, field: string, v: unknown): string {
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) return ''
    if (recordType === 'interaction') {
      switch (field) {
        case 'channel':
          return meta.channelLabel(String(v))
        case 'direction':
          return te(`interaction.direction.${v}`) ? t(`interaction.direction.${v}`) : String(v)
        case 'occurred_at':
        case 'next_step_at':
          return formatDateTime(String(v))
        case 'user_id':
          return meta.userName(v as number) || `#${v}`
        case 'duration_minutes':
          return t('interaction.minutes', { n: v as number })
        case 'contact_ids':
          return t('interaction.contactCount', { n: Array.isArray(v) ? v.length : 1 })
      }
      return plain(v)
    }
    if (recordType === 'task') {
      switch (field) {
        case 'due_at':
        case 'completed_at':
          return formatDateTime(String(v))
        case 'status':
        case 'priority':
        case 'repeat':
          return te(`tasks.${field}.${v}`) ? t(`tasks.${field}.${v}`) : String(v)
        case 'assignee_id':
          return meta.userName(v as number) || `#${v}`
        case 'team_id':
          return meta.teamName(v as number) || `#${v}`
        case 'remind_before_minutes':
          return reminderLabel(v as number, t)
      }
      return plain(v)
    }
    if (recordType === 'contact') return plain(v)
    return clip(changeValue(field, v))
  }

  function rows(recordType: string, changes: Change[]) {
    return expandCustom(changes).map((c) => ({
      field: c.field,
      label: label(recordType, c.field),
      old: value(recordType, c.field, c.old),
      new: value(recordType, c.field, c.new),
    }))
  }

  return { label, value, rows }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v)
}

/** A change of the whole `custom` object becomes one line per custom field that changed. */
export function expandCustom(changes: Change[]): Change[] {
  const out: Change[] = []
  for (const c of changes) {
    if (c.field === 'custom' && (isPlainObject(c.old) || isPlainObject(c.new))) {
      const o = isPlainObject(c.old) ? c.old : {}
      const n = isPlainObject(c.new) ? c.new : {}
      for (const key of new Set([...Object.keys(o), ...Object.keys(n)])) {
        if (JSON.stringify(o[key] ?? null) !== JSON.stringify(n[key] ?? null)) out.push({ field: `custom.${key}`, old: o[key] ?? null, new: n[key] ?? null })
      }
    } else out.push(c)
  }
  return out
}
