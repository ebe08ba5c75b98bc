// Customer list state → the `GET /customers` query: q, sort, repeated `filter=field:op:value`.
import type { CustomFieldType } from '@/api/types'
import { dayRangeToUtc } from '@/utils/format'

export type Range<T> = [T | null, T | null]

/** What the filter panel edits. Empty values mean "no filter". */
export interface CustomerFilters {
  kind: string[]
  stage: string[]
  grade: string[]
  source: string[]
  owner_id: number[]
  province: string
  city: string
  tags: string
  /** Calendar days in the user's time zone, inclusive. */
  created: Range<string>
  /** Not contacted for at least this many days (or never): `idle_days:gte:N`. */
  idle_days: number | null
  custom: Record<string, CustomFilterValue>
}

export type CustomFilterValue = string[] | number[] | Range<number> | Range<string> | boolean | string | null

export function emptyFilters(): CustomerFilters {
  return {
    kind: [],
    stage: [],
    grade: [],
    source: [],
    owner_id: [],
    province: '',
    city: '',
    tags: '',
    created: [null, null],
    idle_days: null,
    custom: {},
  }
}

/** One-click filters above the customer list. Each sets some fields of the filter state. */
export interface FilterPreset {
  key: string
  apply: (f: CustomerFilters) => CustomerFilters
  active: (f: CustomerFilters) => boolean
}

export const IDLE_PRESET_DAYS = 30

export const PRESETS: FilterPreset[] = [
  {
    // 30天未联系: nobody talked to them for a month, or ever.
    key: 'idle30',
    apply: (f) => ({ ...f, idle_days: f.idle_days === IDLE_PRESET_DAYS ? null : IDLE_PRESET_DAYS }),
    active: (f) => f.idle_days === IDLE_PRESET_DAYS,
  },
]

function idleFilter(days: number | null | undefined): string[] {
  if (days === null || days === undefined || !Number.isFinite(days) || days < 0) return []
  return [`idle_days:gte:${Math.floor(days)}`]
}

/** The empty value of a custom filter, by field type. */
export function emptyCustomFilter(type: CustomFieldType | string): CustomFilterValue {
  switch (type) {
    case 'select':
    case 'multiselect':
    case 'user':
      return []
    case 'number':
    case 'money':
    case 'date':
      return [null, null]
    case 'boolean':
      return null
    default:
      return ''
  }
}

function isBlank(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'string' && v.trim() === '')
}

/** `in` values are joined by `,`; `|` is used when a value itself has a comma. */
export function joinValues(values: string[]): string {
  return values.some((v) => v.includes(',')) ? values.join('|') : values.join(',')
}

function inFilter(field: string, values: (string | number)[]): string[] {
  const vs = values.filter((v) => !isBlank(v)).map(String)
  if (vs.length === 0) return []
  return vs.length === 1 ? [`${field}:eq:${vs[0]}`] : [`${field}:in:${joinValues(vs)}`]
}

function rangeFilter(field: string, range: Range<string | number>): string[] {
  const [a, b] = range
  const hasA = !isBlank(a)
  const hasB = !isBlank(b)
  if (hasA && hasB) return [`${field}:between:${a}..${b}`]
  if (hasA) return [`${field}:gte:${a}`]
  if (hasB) return [`${field}:lte:${b}`]
  return []
}

function containsFilter(field: string, text: string): string[] {
  const t = text.trim()
  return t ? [`${field}:contains:${t}`] : []
}

export function customFilter(def: { key: string; type: CustomFieldType | string }, value: CustomFilterValue | undefined): string[] {
  if (value === undefined || value === null) return []
  const field = `custom.${def.key}`
  switch (def.type) {
    case 'select':
    case 'user':
      return Array.isArray(value) ? inFilter(field, value as (string | number)[]) : []
    case 'multiselect': {
      // A record matches when it has any of the chosen options.
      const vs = Array.isArray(value) ? (value as string[]).filter((v) => !isBlank(v)) : []
      return vs.length ? [`${field}:in:${joinValues(vs)}`] : []
    }
    case 'number':
    case 'money':
    case 'date':
      return Array.isArray(value) && value.length === 2 ? rangeFilter(field, value as Range<string | number>) : []
    case 'boolean':
      return typeof value === 'boolean' ? [`${field}:eq:${value}`] : []
    case 'text':
    default:
      return typeof value === 'string' ? containsFilter(field, value) : []
  }
}

/** All `filter` parameters for the state, in a stable order. */
export function buildFilterParams(
  f: CustomerFilters,
  defs: { key: string; type: string }[] = [],
  tz?: string,
): string[] {
  const out: string[] = [
    ...inFilter('kind', f.kind),
    ...inFilter('stage', f.stage),
    ...inFilter('grade', f.grade),
    ...inFilter('source', f.source),
    ...inFilter('owner_id', f.owner_id),
    ...containsFilter('province', f.province),
    ...containsFilter('city', f.city),
    ...containsFilter('tags', f.tags),
  ]
  const [start, end] = f.created
  if (start || end) {
    const [s, e] = dayRangeToUtc(start ?? end!, end ?? start!, tz)
    out.push(...rangeFilter('created_at', [start ? s : null, end ? e : null]))
  }
  out.push(...idleFilter(f.idle_days))
  for (const def of defs) out.push(...customFilter(def, f.custom[def.key]))
  return out
}

export function countActiveFilters(f: CustomerFilters, defs: { key: string; type: string }[] = []): number {
  return buildFilterParams(f, defs, 'UTC').length
}

export interface ListQueryInput {
  q?: string
  sort?: string | null
  filters?: CustomerFilters
  customFields?: { key: string; type: string }[]
  cursor?: string | null
  limit?: number
  deleted?: boolean
  tz?: string
}

export interface ListQuery {
  q?: string
  sort?: string
  filter?: string[]
  cursor?: string
  limit?: number
  deleted?: boolean
}

/** The query object for openapi-fetch (arrays become repeated parameters). */
export function buildListQuery(input: ListQueryInput): ListQuery {
  const query: ListQuery = {}
  const q = input.q?.trim()
  if (q) query.q = q
  if (input.sort) query.sort = input.sort
  const filter = input.filters ? buildFilterParams(input.filters, input.customFields, input.tz) : []
  if (filter.length) query.filter = filter
  if (input.cursor) query.cursor = input.cursor
  if (input.limit) query.limit = input.limit
  if (input.deleted) query.deleted = true
  return query
}

/** The same query as a URL query string (what goes over the wire). */
export function toQueryString(query: ListQuery): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v))
    else params.append(key, String(value))
  }
  return params.toString()
}

/** Clicking a sortable column: ascending → descending → back to the default order. */
export function nextSort(current: string | null, field: string): string | null {
  if (current === field) return `-${field}`
  if (current === `-${field}`) return null
  return field
}

export function sortDirection(current: string | null, field: string): 'ascending' | 'descending' | null {
  if (current === field) return 'ascending'
  if (current === `-${field}`) return 'descending'
  return null
}
