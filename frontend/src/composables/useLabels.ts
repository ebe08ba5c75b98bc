import { useI18n } from 'vue-i18n'
import { useMetaStore } from '@/stores/meta'
import type { CustomFieldDef } from '@/api/types'
import { formatDate, formatDateTime, formatMoney, formatNumber } from '@/utils/format'

/** Human labels for enum values and custom field values, in the current language. */
export function useLabels() {
  const { t, te, locale } = useI18n()
  const meta = useMetaStore()

  const enumLabel = (group: 'kind' | 'stage' | 'grade', value: string | null | undefined) =>
    value ? (te(`customer.${group}.${value}`) ? t(`customer.${group}.${value}`) : value) : ''

  const sourceLabel = (value: string | null | undefined) => {
    if (!value) return ''
    if (te(`customer.source.${value}`)) return t(`customer.source.${value}`)
    return meta.sourceLabel(value)
  }

  const fieldLabel = (name: string) => {
    if (name.startsWith('custom.')) return meta.fieldLabel(name) ?? name.slice(7)
    if (te(`customer.fields.${name}`)) return t(`customer.fields.${name}`)
    return meta.fieldLabel(name) ?? name
  }

  const sizeLabel = (v: string | null | undefined) => (v ? t('customer.sizeLabel', { size: v }) : '')

  function customValue(def: CustomFieldDef, value: unknown): string {
    if (value === null || value === undefined || value === '') return ''
    switch (def.type) {
      case 'select':
        return def.options.find((o) => o.value === value)?.label ?? String(value)
      case 'multiselect':
        return (Array.isArray(value) ? value : [value])
          .map((v) => def.options.find((o) => o.value === v)?.label ?? String(v))
          .join('、')
      case 'boolean':
        return value ? t('common.yes') : t('common.no')
      case 'money':
        return formatMoney(value as string, locale.value)
      case 'number':
        return formatNumber(value as number, locale.value)
      case 'date':
        return formatDate(String(value))
      case 'user':
        return meta.userName(String(value)) || String(value)
      default:
        return String(value)
    }
  }

  /** A value as stored in an audit change (field name known), for the history tab. */
  function changeValue(field: string, value: unknown): string {
    if (value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return ''
    if (field.startsWith('custom.')) {
      const def = meta.customFields.find((f) => f.key === field.slice(7))
      if (def) return customValue(def, value)
    }
    switch (field) {
      case 'kind':
      case 'stage':
      case 'grade':
        return enumLabel(field, String(value))
      case 'source':
        return sourceLabel(String(value))
      case 'size':
        return sizeLabel(String(value))
      case 'created_at':
      case 'updated_at':
      case 'deleted_at':
        return formatDateTime(String(value))
      case 'owner_id':
      case 'created_by':
        return meta.userName(value as number) || `#${value}`
      case 'team_id':
        return meta.teamName(value as number) || `#${value}`
      case 'birthday':
        return formatDate(String(value))
    }
    if (Array.isArray(value)) return value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join('、')
    if (typeof value === 'object') return JSON.stringify(value)
    if (typeof value === 'boolean') return value ? t('common.yes') : t('common.no')
    return String(value)
  }

  return { enumLabel, sourceLabel, fieldLabel, sizeLabel, customValue, changeValue }
}
