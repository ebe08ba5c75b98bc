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
