// Which columns the customer list shows; the choice is remembered per user in localStorage.
import type { CustomFieldDef, MetaField } from '@/api/types'

export interface ColumnDef {
  key: string
  /** `sort` value for the server, when the column is sortable. */
  sortField: string | null
  custom?: CustomFieldDef
  width?: number
}

export const STANDARD_COLUMNS = [
  'name',
  'kind',
  'stage',
  'grade',
  'source',
  'owner_name',
  'team_name',
  'city',
  'phones',
  'emails',
  'tags',
  'industry',
  'contact_count',
  'last_contacted_at',
  'created_at',
  'updated_at',
] as const

export const DEFAULT_COLUMNS = ['name', 'stage', 'grade', 'source', 'owner_name', 'last_contacted_at', 'city', 'phones', 'tags']

const WIDTHS: Record<string, number> = {
  name: 200,
  kind: 90,
  stage: 100,
  grade: 64,
  source: 110,
  owner_name: 90,
  team_name: 110,
  city: 110,
  phones: 130,
  emails: 190,
  tags: 140,
  industry: 120,
  contact_count: 90,
  last_contacted_at: 110,
  created_at: 150,
  updated_at: 150,
}

// Columns shown under another field's name in /customers/meta.
const SORT_ALIASES: Record<string, string[]> = {
  owner_name: ['owner_name', 'owner_id', 'owner'],
  team_name: ['team_name', 'team_id', 'team'],
  city: ['city'],
}

const SORTABLE_CUSTOM_TYPES = new Set(['text', 'number', 'money', 'date', 'select', 'boolean'])

export function buildColumns(metaFields: MetaField[], customFields: CustomFieldDef[]): ColumnDef[] {
  const sortable = new Set(metaFields.filter((f) => f.sortable).map((f) => f.name))
  const cols: ColumnDef[] = STANDARD_COLUMNS.map((key) => {
    const candidates = SORT_ALIASES[key] ?? [key]
    const sortField = candidates.find((c) => sortable.has(c)) ?? null
    return { key, sortField, width: WIDTHS[key] }
  })
  for (const def of customFields) {
    const key = `custom.${def.key}`
    const metaEntry = metaFields.find((f) => f.name === key)
    const sortField = metaEntry ? (metaEntry.sortable ? key : null) : SORTABLE_CUSTOM_TYPES.has(def.type) ? key : null
    cols.push({ key, sortField, custom: def, width: def.type === 'multiselect' ? 180 : 130 })
  }
  return cols
}

export function storageKey(userId: string | number | undefined): string {
  return `guanxi.customers.columns.${userId ?? 'anon'}`
}

export function loadColumnChoice(userId: string | number | undefined): string[] | null {
  try {
    const raw = localStorage.getItem(storageKey(userId))
    if (!raw) return null
    const parsed = JSON.parse(raw)
    return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string') ? parsed : null
  } catch {
    return null
  }
}

export function saveColumnChoice(userId: string | number | undefined, keys: string[]): void {
  try {
    localStorage.setItem(storageKey(userId), JSON.stringify(keys))
  } catch {
    /* no storage */
  }
}
