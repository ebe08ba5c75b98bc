import { describe, expect, it } from 'vitest'
import { createPayload, emptyModel, modelFromCustomer, READ_ONLY_FIELDS, updatePayload } from '@/modules/customers/payload'
import type { Customer, CustomFieldDef } from '@/api/types'

const defs: CustomFieldDef[] = [
  { id: 1, entity: 'customer', key: 'budget', label: '预算', type: 'money', options: [], required: false, position: 0 },
  { id: 2, entity: 'customer', key: 'vip', label: 'VIP', type: 'boolean', options: [], required: false, position: 1 },
  { id: 3, entity: 'customer', key: 'intent', label: '意向', type: 'select', options: [{ value: 'high', label: '高' }], required: false, position: 2 },
]

const customer: Customer = {
  id: 1,
  kind: 'company',
  name: '星河科技',
  industry: '软件',
  size: '21-100',
  province: '浙江',
  city: '杭州',
  district: null,
  address: null,
  phones: ['138 0013 8000'],
  emails: [],
  wechat: null,
  website: null,
  source: 'referral',
  stage: 'potential',
  grade: 'B',
  tags: ['重点'],
  owner_id: 11,
  owner_name: '张三',
  team_id: 5,
  team_name: '华东销售',
  birthday: null,
  notes: null,
  custom: { budget: '120000.00', vip: true },
  contact_count: 2,
  version: 7,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-02T00:00:00Z',
  created_by: 11,
  deleted_at: null,
}

describe('create payload', () => {
  it('sends only filled, writable fields', () => {
    const m = emptyModel()
    m.name = ' 新客户 '
    m.phones = ['13800138000', ' ']
    m.tags = ['A']
    m.custom = { budget: 5000, vip: null, intent: 'high' }
    const body = createPayload(m, defs, false) as Record<string, unknown>
    expect(body).toEqual({ kind: 'company', name: '新客户', stage: 'potential', phones: ['13800138000'], tags: ['A'], custom: { budget: '5000.00', intent: 'high' } })
    for (const f of READ_ONLY_FIELDS) expect(body).not.toHaveProperty(f)
  })

  it('sends owner_id only when the user may reassign', () => {
    const m = emptyModel()
    m.name = 'x'
    m.owner_id = 19
    expect(createPayload(m, defs, false)).not.toHaveProperty('owner_id')
    expect(createPayload(m, defs, true)).toHaveProperty('owner_id', 19)
  })
})

describe('update payload', () => {
  it('is empty when nothing changed', () => {
    expect(updatePayload(customer, modelFromCustomer(customer), defs, true)).toEqual({})
  })

  it('sends only the changed fields, cleared ones as null', () => {
    const m = modelFromCustomer(customer)
    m.city = '宁波'
    m.industry = ''
    m.phones = ['138 0013 8000', '13900139000']
    m.custom.budget = '150000'
    m.custom.vip = false
    const body = updatePayload(customer, m, defs, true)
    expect(body).toEqual({ city: '宁波', industry: null, phones: ['138 0013 8000', '13900139000'], custom: { budget: '150000', vip: false } })
    for (const f of READ_ONLY_FIELDS) expect(body).not.toHaveProperty(f)
  })

  it('never sends owner_id without can_reassign', () => {
    const m = modelFromCustomer(customer)
    m.owner_id = 12
    expect(updatePayload(customer, m, defs, false)).toEqual({})
    expect(updatePayload(customer, m, defs, true)).toEqual({ owner_id: 12 })
  })
})

describe('field rules', () => {
  it('never sends fields the role may only read', async () => {
    const { blockedFields } = await import('@/modules/customers/payload')
    const blocked = blockedFields({ grade: 'read', stage: 'read', phones: 'masked', notes: 'hidden' })
    expect([...blocked].sort()).toEqual(['grade', 'notes', 'phones', 'stage'])
    const m = emptyModel()
    m.name = 'x'
    m.grade = 'A'
    m.phones = ['13800138000']
    expect(createPayload(m, defs, false, blocked)).toEqual({ kind: 'company', name: 'x' })
    const e = modelFromCustomer(customer)
    e.stage = 'loyal'
    e.city = '宁波'
    expect(updatePayload(customer, e, defs, true, blocked)).toEqual({ city: '宁波' })
  })
})
