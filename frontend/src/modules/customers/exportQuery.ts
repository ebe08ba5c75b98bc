import type { ListQuery } from './filters'

export type ExportFormat = 'csv' | 'xlsx'

/** The list's search, filters and sort without its page: an export takes every matching row. */
export function exportQuery(list: ListQuery, format: ExportFormat): Omit<ListQuery, 'cursor' | 'limit' | 'deleted'> & { format: ExportFormat } {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { cursor, limit, deleted, ...rest } = list
  return { ...rest, format }
}
