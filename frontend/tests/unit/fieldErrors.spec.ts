import { describe, expect, it } from 'vitest'
import { formKeyFor, mapFieldErrors, testIdFor } from '@/modules/customers/fieldErrors'

describe('field error mapping', () => {
  it('maps server field paths to form keys', () => {
    expect(formKeyFor('phones.0')).toBe('phones')
    expect(formKeyFor('emails.1')).toBe('emails')
    expect(formKeyFor('custom.budget')).toBe('custom.budget')
    expect(formKeyFor('custom.products.1')).toBe('custom.products')
    expect(formKeyFor('name')).toBe('name')
    expect(formKeyFor('body.name')).toBe('name')
    expect(formKeyFor('')).toBe('')
  })

  it('gives the test id shown under the field', () => {
    expect(testIdFor('phones')).toBe('field-error-phones')
    expect(testIdFor('custom.budget')).toBe('field-error-custom-budget')
  })

  it('groups messages per field and numbers list items', () => {
    const { fields, other } = mapFieldErrors(
      [
        { field: 'phones.0', code: 'invalid_phone', message: '不是有效的电话号码' },
        { field: 'phones.2', code: 'invalid_phone', message: '不是有效的电话号码' },
        { field: 'custom.budget', code: 'invalid_decimal', message: '不是有效的金额' },
        { field: 'name', code: 'required', message: '必填' },
      ],
      ['name', 'phones', 'custom.budget'],
    )
    expect(fields).toEqual({
      phones: '#1: 不是有效的电话号码；#3: 不是有效的电话号码',
      'custom.budget': '不是有效的金额',
      name: '必填',
    })
    expect(other).toEqual([])
  })

  it('keeps errors for fields the form does not show apart', () => {
    const { fields, other } = mapFieldErrors(
      [
        { field: 'team_id', code: 'read_only_field', message: '只读' },
        { field: '', code: 'invalid_json', message: 'bad json' },
        { field: 'city', code: 'too_long', message: '太长' },
      ],
      ['city'],
    )
    expect(fields).toEqual({ city: '太长' })
    expect(other.map((e) => e.code)).toEqual(['read_only_field', 'invalid_json'])
  })

  it('falls back to the code when there is no message', () => {
    expect(mapFieldErrors([{ field: 'grade', code: 'invalid_choice', message: '' }]).fields).toEqual({ grade: 'invalid_choice' })
  })
})

describe('nested objects on a form (the follow-up task of an interaction)', () => {
  it('keeps follow_up.title as its own control', () => {
    expect(formKeyFor('follow_up.title', ['follow_up'])).toBe('follow_up.title')
    expect(formKeyFor('follow_up.title')).toBe('follow_up')
    const errors = [
      { field: 'follow_up.due_at', code: 'required', message: '必填' },
      { field: 'contact_ids.1', code: 'invalid_contact', message: '联系人无效' },
      { field: 'customer_id', code: 'not_found', message: '找不到' },
    ]
    const mapped = mapFieldErrors(errors, ['follow_up.due_at', 'contact_ids'], ['follow_up'])
    expect(mapped.fields).toEqual({ 'follow_up.due_at': '必填', contact_ids: '#2: 联系人无效' })
    expect(mapped.other.map((e) => e.field)).toEqual(['customer_id'])
    expect(testIdFor('follow_up.due_at', 'interaction-error')).toBe('interaction-error-follow_up-due_at')
  })
})
