import { describe, expect, it } from 'vitest'
import {
  acceptFor,
  cellErrors,
  checkMapping,
  cleanMapping,
  csvCell,
  duplicateHandling,
  fileProblem,
  percentDone,
  addSample,
  pace,
  durationParts,
  elapsedSeconds,
  formatDuration,
  PACE_WINDOW_MS,
  samplesOf,
  splitMappingErrors,
  stepFor,
  summarizePreview,
  templateCsv,
} from '@/modules/imports/imports'
import type { ImportField, PreviewRow } from '@/modules/imports/types'

const FIELDS: ImportField[] = [
  { key: 'name', label: '客户名称', required: true, type: 'text' },
  { key: 'phones', label: '电话', required: false, type: 'list' },
  { key: 'city', label: '城市', required: false, type: 'text' },
  { key: 'custom.level', label: '会员等级, VIP', required: false, type: 'select' },
]

describe('checkMapping', () => {
  const headers = ['公司', '手机', '座机', '所在城市']

  it('accepts one column per field with every required field mapped', () => {
    const p = checkMapping({ 公司: 'name', 手机: 'phones', 座机: null, 所在城市: 'city' }, headers, FIELDS)
    expect(p).toEqual({ byHeader: {}, requiredUnmapped: [], ok: true })
  })

  it('marks every column of a field chosen twice', () => {
    const p = checkMapping({ 公司: 'name', 手机: 'city', 座机: null, 所在城市: 'city' }, headers, FIELDS)
    expect(p.ok).toBe(false)
    expect(p.byHeader).toEqual({ 手机: { code: 'mapped_twice', field: 'city' }, 所在城市: { code: 'mapped_twice', field: 'city' } })
  })

  it('lets several columns fill phones, emails and tags', () => {
    const p = checkMapping({ 公司: 'name', 手机: 'phones', 座机: 'phones', 所在城市: null }, headers, FIELDS)
    expect(p).toEqual({ byHeader: {}, requiredUnmapped: [], ok: true })
  })

  it('lists required fields no column maps to', () => {
    const p = checkMapping({ 公司: null, 手机: 'phones' }, headers, FIELDS)
    expect(p.ok).toBe(false)
    expect(p.requiredUnmapped.map((f) => f.key)).toEqual(['name'])
  })

  it('ignores mappings of columns the file does not have', () => {
    const p = checkMapping({ 公司: 'name', 旧列: 'name' }, ['公司'], FIELDS)
    expect(p.ok).toBe(true)
  })
})

describe('cleanMapping', () => {
  it('keeps only the file’s columns, with unknown fields and blanks as null', () => {
    expect(cleanMapping({ a: 'name', b: '', c: 'nope', d: 'city' }, ['a', 'b', 'c'], FIELDS)).toEqual({ a: 'name', b: null, c: null })
  })
})

describe('splitMappingErrors', () => {
  it('puts column errors next to their column and keeps the rest', () => {
    const errors = [
      { field: 'mapping.手机', code: 'mapped_twice', message: '重复' },
      { field: 'mapping.座机', code: 'unknown_field', message: '未知字段' },
      { field: 'mapping.座机', code: 'owner_not_allowed', message: '不能指定负责人' },
      { field: 'name', code: 'required_unmapped', message: '客户名称未映射' },
      { field: 'mapping.旧列', code: 'unknown_field', message: '文件中没有此列' },
    ]
    // a column named like a field key still only gets the errors addressed to it
    const split = splitMappingErrors(errors, ['手机', '座机', 'name'])
    expect(split.byHeader).toEqual({ 手机: '重复', 座机: '未知字段；不能指定负责人' })
    expect(split.other.map((e) => e.code)).toEqual(['required_unmapped', 'unknown_field'])
  })
})

describe('templateCsv', () => {
  it('writes the labels, required fields first, with a BOM for Excel', () => {
    const csv = templateCsv(FIELDS)
    expect(csv.startsWith('\uFEFF')).toBe(true)
    expect(csv.slice(1)).toBe('客户名称,电话,城市,"会员等级, VIP"\r\n')
  })

  it('adds an example row in the same column order', () => {
    const csv = templateCsv([FIELDS[1], FIELDS[0]], { name: '星河 "科技"', phones: '13800138000' })
    expect(csv.slice(1).split('\r\n')).toEqual(['客户名称,电话', '"星河 ""科技""",13800138000', ''])
  })

  it('quotes what a CSV reader would otherwise split or trim', () => {
    expect(csvCell('a,b')).toBe('"a,b"')
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"')
    expect(csvCell(' padded')).toBe('" padded"')
    expect(csvCell('plain')).toBe('plain')
  })
})

describe('files', () => {
  it('offers vCard only for contacts', () => {
    expect(acceptFor('customers')).toBe('.csv,.xlsx')
    expect(acceptFor('contacts')).toBe('.csv,.xlsx,.vcf')
  })

  it('refuses what the server would never take, before uploading', () => {
    expect(fileProblem({ name: '客户.CSV', size: 10 }, 'customers')).toBeNull()
    expect(fileProblem({ name: 'phone.vcf', size: 10 }, 'customers')).toBe('type')
    expect(fileProblem({ name: 'phone.vcf', size: 10 }, 'contacts')).toBeNull()
    expect(fileProblem({ name: 'old.xls', size: 10 }, 'customers')).toBe('type')
    expect(fileProblem({ name: 'noext', size: 10 }, 'customers')).toBe('type')
    expect(fileProblem({ name: 'a.csv', size: 0 }, 'customers')).toBe('empty')
  })

  it('shows up to three non-blank samples of a column', () => {
    const sample = [['a', ''], ['b', 'x'], ['', 'y'], ['c'], ['d']]
    expect(samplesOf(sample, 0)).toEqual(['a', 'b', 'c'])
    expect(samplesOf(sample, 1)).toEqual(['x', 'y'])
  })
})

describe('stepFor', () => {
  it('follows the status, and the URL for an uploaded import', () => {
    expect(stepFor(null, 'preview')).toBe('upload')
    expect(stepFor({ status: 'uploaded' }, null)).toBe('mapping')
    expect(stepFor({ status: 'uploaded' }, 'preview')).toBe('preview')
    expect(stepFor({ status: 'queued' }, 'preview')).toBe('progress')
    expect(stepFor({ status: 'running' }, null)).toBe('progress')
    for (const s of ['done', 'failed', 'cancelled'] as const) expect(stepFor({ status: s }, null)).toBe('report')
  })

  it('computes the share done, unknown while the row count is', () => {
    expect(percentDone({ status: 'running', processed: 5, total_rows: 20 })).toBe(25)
    expect(percentDone({ status: 'running', processed: 5, total_rows: null })).toBeNull()
    expect(percentDone({ status: 'queued', processed: 0, total_rows: null })).toBe(0)
    expect(percentDone({ status: 'done', processed: 0, total_rows: 0 })).toBe(100)
  })
})

describe('pace', () => {
  it('measures rows per second over the window and the time left', () => {
    let s = addSample([], { at: 0, processed: 0 })
    expect(pace(s, 100_000)).toBeNull() // one look says nothing
    s = addSample(s, { at: 1_000, processed: 0 })
    expect(pace(s, 100_000)).toBeNull() // the count has not moved yet
    s = addSample(s, { at: 3_000, processed: 10_000 })
    expect(pace(s, 100_000)).toEqual({ rate: 10_000 / 3, left: 90_000 / (10_000 / 3) })
    expect(pace(s, null)).toEqual({ rate: 10_000 / 3, left: null })
  })

  it('forgets samples older than the window, and starts over when the count goes back', () => {
    let s = addSample([], { at: 0, processed: 0 })
    s = addSample(s, { at: 3_000, processed: 5_000 })
    s = addSample(s, { at: PACE_WINDOW_MS + 2_000, processed: 20_000 }) // 0 is too old now, 3,000 is not
    expect(s.map((x) => x.at)).toEqual([3_000, PACE_WINDOW_MS + 2_000])
    expect(pace(s, 40_000)?.rate).toBeCloseTo(15_000 / ((PACE_WINDOW_MS - 1_000) / 1000))
    expect(addSample(s, { at: PACE_WINDOW_MS + 3_000, processed: 100 })).toEqual([{ at: PACE_WINDOW_MS + 3_000, processed: 100 }])
  })

  it('never says less than nothing is left', () => {
    const s = [{ at: 0, processed: 0 }, { at: 1_000, processed: 120 }]
    expect(pace(s, 100)?.left).toBe(0)
  })

  it('formats durations in hours and minutes, minutes and seconds, or seconds', () => {
    expect(durationParts(12.4)).toEqual({ key: 's', h: 0, m: 0, s: 12 })
    expect(durationParts(221)).toEqual({ key: 'm', h: 0, m: 3, s: 41 })
    expect(durationParts(3_900)).toEqual({ key: 'h', h: 1, m: 5, s: 0 })
    expect(durationParts(-5)).toEqual({ key: 'under1', h: 0, m: 0, s: 0 })
    expect(durationParts(0.4)).toEqual({ key: 'under1', h: 0, m: 0, s: 0 })
    expect(durationParts(0.6)).toEqual({ key: 's', h: 0, m: 0, s: 1 })
    expect(durationParts(60)).toEqual({ key: 'm', h: 0, m: 1, s: 0 })
    const t = (key: string, p: Record<string, number>) => `${key}:${p.h}/${p.m}/${p.s}`
    expect(formatDuration(t, 221)).toBe('imports.duration.m:0/3/41')
  })

  it('knows how long a finished import took', () => {
    expect(elapsedSeconds({ started_at: '2026-12-06T15:14:02Z', finished_at: '2026-12-06T15:17:43Z' })).toBe(221)
    expect(elapsedSeconds({ started_at: null, finished_at: '2026-12-06T15:17:43Z' })).toBeNull()
    expect(elapsedSeconds({ started_at: '2026-12-06T15:14:02Z', finished_at: null })).toBeNull()
    expect(elapsedSeconds({ started_at: 'later', finished_at: '2026-12-06T15:17:43Z' })).toBeNull()
  })
})

describe('preview', () => {
  const row = (line: number, action: PreviewRow['action'], errors: PreviewRow['errors'] = [], dup = false): PreviewRow => ({
    line,
    values: {},
    errors,
    duplicate: dup ? { reason: 'phone', existing_id: 1, existing_name: 'x', line: null } : null,
    action,
  })

  it('counts problems, duplicates and actions', () => {
    const rows = [
      row(2, 'create'),
      row(3, 'fail', [{ field: 'phones', code: 'invalid_phone', message: '电话格式不正确' }]),
      row(4, 'skip', [], true),
    ]
    expect(summarizePreview(rows)).toEqual({ rows: 3, withProblems: 1, duplicates: 1, actions: { create: 1, update: 0, skip: 1, fail: 1 } })
  })

  it('joins the messages of one cell', () => {
    const r = row(5, 'fail', [
      { field: 'phones', code: 'a', message: '太长' },
      { field: 'name', code: 'b', message: '必填' },
      { field: 'phones', code: 'c', message: '格式不正确' },
    ])
    expect(cellErrors(r, 'phones')).toBe('太长；格式不正确')
    expect(cellErrors(r, 'city')).toBe('')
  })
})

describe('duplicateHandling', () => {
  it('names the mode, and for updates whether empty fields were filled or overwritten', () => {
    expect(duplicateHandling({ type: 'customers', duplicate_mode: 'skip', update_fields: 'fill' })).toEqual(['modes.skip'])
    expect(duplicateHandling({ type: 'customers', duplicate_mode: 'create', update_fields: 'fill' })).toEqual(['modes.create'])
    expect(duplicateHandling({ type: 'customers', duplicate_mode: 'update', update_fields: 'overwrite' })).toEqual([
      'modes.update',
      'updateFields.overwrite',
    ])
    expect(duplicateHandling({ type: 'contacts', duplicate_mode: 'update', update_fields: 'fill' })).toEqual([
      'modes.updateOther',
      'updateFields.fill',
    ])
  })
})
