import { describe, expect, it } from 'vitest'
import { buildFilterParams, buildListQuery, countActiveFilters, customFilter, emptyFilters, joinValues, nextSort, PRESETS, sortDirection, toQueryString } from '@/modules/customers/filters'

describe('filter → query string', () => {
  it('builds nothing for empty filters', () => {
    expect(buildFilterParams(emptyFilters())).toEqual([])
    expect(toQueryString(buildListQuery({ filters: emptyFilters(), q: '  ' }))).toBe('')
  })

  it('uses eq for one value and in for several', () => {
    const f = emptyFilters()
    f.kind = ['company']
    f.stage = ['loyal', 'repeat']
    f.grade = ['A', 'B']
    f.source = ['referral']
    f.owner_id = [1, 2]
    expect(buildFilterParams(f)).toEqual([
      'kind:eq:company',
      'stage:in:loyal,repeat',
      'grade:in:A,B',
      'source:eq:referral',
      'owner_id:in:1,2',
    ])
  })

  it('joins with | when a value has a comma', () => {
    expect(joinValues(['a,b', 'c'])).toBe('a,b|c')
    expect(joinValues(['a', 'c'])).toBe('a,c')
  })

  it('uses contains for city, province and tags', () => {
    const f = emptyFilters()
    f.city = ' 杭州 '
    f.province = '浙江'
    f.tags = 'VIP'
    expect(buildFilterParams(f)).toEqual(['province:contains:浙江', 'city:contains:杭州', 'tags:contains:VIP'])
  })

  it('turns a created date range into UTC bounds of whole days in the user zone', () => {
    const f = emptyFilters()
    f.created = ['2026-01-01', '2026-01-31']
    expect(buildFilterParams(f, [], 'Asia/Shanghai')).toEqual(['created_at:between:2025-12-31T16:00:00Z..2026-01-31T15:59:59Z'])
    f.created = ['2026-01-01', null]
    expect(buildFilterParams(f, [], 'UTC')).toEqual(['created_at:gte:2026-01-01T00:00:00Z'])
    f.created = [null, '2026-01-31']
    expect(buildFilterParams(f, [], 'UTC')).toEqual(['created_at:lte:2026-01-31T23:59:59Z'])
  })

  it('builds custom field filters by type', () => {
    expect(customFilter({ key: 'intent', type: 'select' }, ['high', 'mid'])).toEqual(['custom.intent:in:high,mid'])
    expect(customFilter({ key: 'intent', type: 'select' }, ['high'])).toEqual(['custom.intent:eq:high'])
    expect(customFilter({ key: 'products', type: 'multiselect' }, ['a'])).toEqual(['custom.products:in:a'])
    expect(customFilter({ key: 'budget', type: 'money' }, [1000, 5000])).toEqual(['custom.budget:between:1000..5000'])
    expect(customFilter({ key: 'budget', type: 'money' }, [1000, null])).toEqual(['custom.budget:gte:1000'])
    expect(customFilter({ key: 'seats', type: 'number' }, [null, 10])).toEqual(['custom.seats:lte:10'])
    expect(customFilter({ key: 'seats', type: 'number' }, [0, null])).toEqual(['custom.seats:gte:0'])
    expect(customFilter({ key: 'next_visit', type: 'date' }, ['2026-12-01', '2026-12-31'])).toEqual(['custom.next_visit:between:2026-12-01..2026-12-31'])
    expect(customFilter({ key: 'vip', type: 'boolean' }, true)).toEqual(['custom.vip:eq:true'])
    expect(customFilter({ key: 'vip', type: 'boolean' }, false)).toEqual(['custom.vip:eq:false'])
    expect(customFilter({ key: 'vip', type: 'boolean' }, null)).toEqual([])
    expect(customFilter({ key: 'note', type: 'text' }, ' 大客户 ')).toEqual(['custom.note:contains:大客户'])
    expect(customFilter({ key: 'note', type: 'text' }, '')).toEqual([])
    expect(customFilter({ key: 'am', type: 'user' }, [7])).toEqual(['custom.am:eq:7'])
  })

  it('puts search, sort, filters, cursor and limit into one query string', () => {
    const f = emptyFilters()
    f.stage = ['loyal']
    f.custom = { budget: [100, null] }
    const query = buildListQuery({
      q: ' zs ',
      sort: '-custom.budget',
      filters: f,
      customFields: [{ key: 'budget', type: 'money' }],
      cursor: 'abc',
      limit: 50,
    })
    expect(query).toEqual({ q: 'zs', sort: '-custom.budget', filter: ['stage:eq:loyal', 'custom.budget:gte:100'], cursor: 'abc', limit: 50 })
    const qs = new URLSearchParams(toQueryString(query))
    expect(qs.get('q')).toBe('zs')
    expect(qs.getAll('filter')).toEqual(['stage:eq:loyal', 'custom.budget:gte:100'])
    expect(qs.get('cursor')).toBe('abc')
  })

  it('asks for the recycle bin with deleted=true', () => {
    expect(toQueryString(buildListQuery({ deleted: true, limit: 20 }))).toBe('limit=20&deleted=true')
  })
})

describe('sorting by column', () => {
  it('cycles ascending → descending → default', () => {
    expect(nextSort(null, 'name')).toBe('name')
    expect(nextSort('name', 'name')).toBe('-name')
    expect(nextSort('-name', 'name')).toBeNull()
    expect(nextSort('-updated_at', 'name')).toBe('name')
    expect(sortDirection('-custom.budget', 'custom.budget')).toBe('descending')
    expect(sortDirection('name', 'name')).toBe('ascending')
    expect(sortDirection(null, 'name')).toBeNull()
  })
})

describe('not contacted for N days', () => {
  it('sends idle_days:gte:N', () => {
    const f = emptyFilters()
    f.idle_days = 45
    expect(buildFilterParams(f)).toEqual(['idle_days:gte:45'])
    expect(countActiveFilters(f)).toBe(1)
    f.idle_days = null
    expect(buildFilterParams(f)).toEqual([])
  })

  it('has a one-click preset for 30 days that toggles and keeps the other filters', () => {
    const preset = PRESETS.find((p) => p.key === 'idle30')!
    const f = emptyFilters()
    f.grade = ['A']
    const on = preset.apply(f)
    expect(preset.active(on)).toBe(true)
    expect(buildFilterParams(on)).toEqual(['grade:eq:A', 'idle_days:gte:30'])
    expect(toQueryString(buildListQuery({ filters: on }))).toBe('filter=grade%3Aeq%3AA&filter=idle_days%3Agte%3A30')
    const off = preset.apply(on)
    expect(preset.active(off)).toBe(false)
    expect(buildFilterParams(off)).toEqual(['grade:eq:A'])
    expect(f.idle_days).toBeNull() // the state it came from is not changed
  })

  it('is not active when the builder asks for another number of days', () => {
    const preset = PRESETS.find((p) => p.key === 'idle30')!
    const f = { ...emptyFilters(), idle_days: 60 }
    expect(preset.active(f)).toBe(false)
    expect(preset.apply(f).idle_days).toBe(30)
  })
})
