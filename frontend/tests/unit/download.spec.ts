import { describe, expect, it } from 'vitest'
import { filenameFrom } from '@/utils/download'
import { buildListQuery } from '@/modules/customers/filters'
import { exportQuery } from '@/modules/customers/exportQuery'

describe('filenameFrom', () => {
  it('prefers the UTF-8 name', () => {
    const h = `attachment; filename="__2026-11-23.csv"; filename*=UTF-8''${encodeURIComponent('客户_2026-11-23.csv')}`
    expect(filenameFrom(h, 'x.csv')).toBe('客户_2026-11-23.csv')
  })
  it('falls back to the plain name, then to the default', () => {
    expect(filenameFrom('attachment; filename="a.vcf"', 'x')).toBe('a.vcf')
    expect(filenameFrom(null, 'x.csv')).toBe('x.csv')
  })
})

describe('exportQuery', () => {
  it('keeps search, filters and sort, drops paging', () => {
    const list = buildListQuery({ q: ' 张 ', sort: '-name', cursor: 'abc', limit: 50 })
    expect(exportQuery(list, 'xlsx')).toEqual({ q: '张', sort: '-name', format: 'xlsx' })
  })
})
