import type { FieldError } from '@/api/client'

/**
 * Where a server field error is shown on a form: `phones.0` → `phones`, `custom.budget` →
 * `custom.budget`, `name` → `name`. The test id of the message is `field-error-<key with . → ->`.
 */
export function formKeyFor(field: string, nested: readonly string[] = []): string {
  const parts = field.split('.').filter((p) => p !== '' && p !== 'body')
  if (parts.length === 0) return ''
  if ((parts[0] === 'custom' || nested.includes(parts[0])) && parts.length > 1) return `${parts[0]}.${parts[1]}`
  return parts[0]
}

export function testIdFor(key: string, prefix = 'field-error'): string {
  return `${prefix}-${key.replace(/\./g, '-')}`
}

export interface MappedErrors {
  /** Messages per form key (several joined by "；"). */
  fields: Record<string, string>
  /** Errors whose field is not on the form, shown at the top. */
  other: FieldError[]
}

/**
 * Group a problem's field errors by the form control they belong to. `known` lists the form keys
 * the form renders; errors for anything else go to `other`. `nested` names objects whose fields are
 * controls of their own (`follow_up.title` → `follow_up.title`, not `follow_up`).
 */
export function mapFieldErrors(errors: FieldError[], known?: Iterable<string>, nested: readonly string[] = []): MappedErrors {
  const knownSet = known ? new Set(known) : null
  const fields: Record<string, string> = {}
  const other: FieldError[] = []
  for (const e of errors) {
    const key = formKeyFor(e.field, nested)
    if (!key || (knownSet && !knownSet.has(key))) {
      other.push(e)
      continue
    }
    const parts = e.field.split('.')
    const index = key === parts[0] && parts.length > 1 && /^\d+$/.test(parts[1]) ? Number(parts[1]) : null
    const message = e.message || e.code
    const text = index !== null ? `#${index + 1}: ${message}` : message
    fields[key] = fields[key] ? `${fields[key]}；${text}` : text
  }
  return { fields, other }
}
