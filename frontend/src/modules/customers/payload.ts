// Building create/update bodies: only writable fields, and for PATCH only what changed.

/** Field rules of the role (Me.field_rules.customers): fields it may read but not write. */
export function blockedFields(rules: Record<string, string> | undefined | null): Set<string> {
  return new Set(Object.entries(rules ?? {}).filter(([, r]) => r === 'read' || r === 'masked' || r === 'hidden').map(([f]) => f))
}
import type { Customer, CustomerCreate, CustomerUpdate, CustomFieldDef } from '@/api/types'

/** Fields the server sets; never sent. */
export const READ_ONLY_FIELDS = [
  'id',
  'version',
  'created_at',
  'updated_at',
  'team_id',
  'workspace_id',
  'created_by',
  'owner_name',
  'team_name',
  'contact_count',
  'deleted_at',
  'duplicates',
] as const

/** The form's model: every writable field, with '' / [] for empty. */
export interface CustomerFormModel {
  kind: 'company' | 'person'
  name: string
  industry: string
  size: string
  province: string
  city: string
  district: string
  address: string
  phones: string[]
  emails: string[]
  wechat: string
  website: string
  source: string
  stage: string
  grade: string
  tags: string[]
  owner_id: number | null
  birthday: string
  notes: string
  custom: Record<string, unknown>
}

const TEXT_FIELDS = ['name', 'industry', 'size', 'province', 'city', 'district', 'address', 'wechat', 'website', 'source', 'stage', 'grade', 'birthday', 'notes'] as const

export function emptyModel(): CustomerFormModel {
  return {
    kind: 'company',
    name: '',
    industry: '',
    size: '',
    province: '',
    city: '',
    district: '',
    address: '',
    phones: [''],
    emails: [''],
    wechat: '',
    website: '',
    source: '',
    stage: 'potential',
    grade: '',
    tags: [],
    owner_id: null,
    birthday: '',
    notes: '',
    custom: {},
  }
}

export function modelFromCustomer(c: Customer): CustomerFormModel {
  const m = emptyModel()
  m.kind = c.kind === 'person' ? 'person' : 'company'
  m.owner_id = c.owner_id ?? null
  for (const f of TEXT_FIELDS) {
    const v = (c as Record<string, unknown>)[f]
    ;(m as unknown as Record<string, unknown>)[f] = v === null || v === undefined ? '' : String(v)
  }
  m.phones = c.phones.length ? [...c.phones] : ['']
  m.emails = c.emails.length ? [...c.emails] : ['']
  m.tags = [...c.tags]
  m.custom = JSON.parse(JSON.stringify(c.custom ?? {}))
  return m
}

function isEmptyValue(v: unknown): boolean {
  return v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)
}

/** Custom values as the API wants them: money as a decimal string, empty → null. */
export function normalizeCustom(custom: Record<string, unknown>, defs: CustomFieldDef[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const def of defs) {
    if (!(def.key in custom)) continue
    let v = custom[def.key]
    if (isEmptyValue(v)) v = null
    else if (def.type === 'money') v = typeof v === 'number' ? v.toFixed(2) : String(v)
    else if (def.type === 'number') v = typeof v === 'string' ? Number(v) : v
    out[def.key] = v
  }
  return out
}

function cleanList(list: string[]): string[] {
  return list.map((s) => s.trim()).filter((s) => s !== '')
}

/** Body for POST /customers: empty fields left out, and fields the role may only read never sent. */
export function createPayload(
  m: CustomerFormModel,
  defs: CustomFieldDef[],
  canReassign: boolean,
  blocked: ReadonlySet<string> = new Set(),
): CustomerCreate {
  const body: Record<string, unknown> = { kind: m.kind, name: m.name.trim() }
  for (const f of TEXT_FIELDS) {
    if (f === 'name') continue
    const v = (m[f] ?? '').trim()
    if (v !== '') body[f] = v
  }
  const phones = cleanList(m.phones)
  const emails = cleanList(m.emails)
  if (phones.length) body.phones = phones
  if (emails.length) body.emails = emails
  if (m.tags.length) body.tags = [...m.tags]
  if (canReassign && m.owner_id !== null) body.owner_id = m.owner_id
  const custom = Object.fromEntries(Object.entries(normalizeCustom(m.custom, defs)).filter(([, v]) => v !== null))
  if (Object.keys(custom).length) body.custom = custom
  for (const f of blocked) if (f !== 'name' && f !== 'kind') delete body[f]
  return body as unknown as CustomerCreate
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** Body for PATCH /customers/{id}: only the fields that differ from the loaded record. */
export function updatePayload(
  original: Customer,
  m: CustomerFormModel,
  defs: CustomFieldDef[],
  canReassign: boolean,
  blocked: ReadonlySet<string> = new Set(),
): CustomerUpdate {
  const before = modelFromCustomer(original)
  const body: Record<string, unknown> = {}
  if (m.kind !== before.kind) body.kind = m.kind
  if (canReassign && m.owner_id !== null && m.owner_id !== before.owner_id) body.owner_id = m.owner_id
  for (const f of TEXT_FIELDS) {
    const now = (m[f] ?? '').trim()
    if (now !== before[f].trim()) body[f] = now === '' ? null : now
  }
  if (body.name === null) body.name = ''
  for (const f of ['phones', 'emails'] as const) {
    const now = cleanList(m[f])
    if (!sameJson(now, cleanList(before[f]))) body[f] = now
  }
  if (!sameJson(m.tags, before.tags)) body.tags = [...m.tags]
  const nowCustom = normalizeCustom(m.custom, defs)
  const beforeCustom = normalizeCustom(before.custom, defs)
  const changed: Record<string, unknown> = {}
  for (const def of defs) {
    const a = nowCustom[def.key] ?? null
    const b = beforeCustom[def.key] ?? null
    if (!sameJson(a, b)) changed[def.key] = a
  }
  if (Object.keys(changed).length) body.custom = changed
  for (const f of blocked) delete body[f]
  return body as CustomerUpdate
}
