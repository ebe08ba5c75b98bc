import { api, unwrap } from '@/api/client'
import { filenameFrom } from '@/utils/download'
import type { DuplicateMode, ImportField, ImportOut, ImportType, PreviewRow, UpdateFields } from './types'

export function fetchFields(type: ImportType): Promise<ImportField[]> {
  return unwrap(api.GET('/api/v1/imports/fields', { params: { query: { type } } }))
}

export function uploadFile(file: File, type: ImportType): Promise<ImportOut> {
  return unwrap(
    api.POST('/api/v1/imports', {
      body: { file: file.name, type },
      bodySerializer: () => {
        const fd = new FormData()
        fd.append('type', type)
        fd.append('file', file, file.name)
        return fd
      },
    }),
  )
}

export async function listImports(type?: ImportType): Promise<ImportOut[]> {
  return (await unwrap(api.GET('/api/v1/imports', { params: { query: type ? { type } : {} } }))).items
}

export function getImport(id: number): Promise<ImportOut> {
  return unwrap(api.GET('/api/v1/imports/{import_id}', { params: { path: { import_id: id } } }))
}

export function saveMapping(
  id: number,
  mapping: Record<string, string | null>,
  duplicate_mode: DuplicateMode,
  update_fields: UpdateFields = 'fill',
): Promise<ImportOut> {
  return unwrap(api.PUT('/api/v1/imports/{import_id}/mapping', { params: { path: { import_id: id } }, body: { mapping, duplicate_mode, update_fields } }))
}

export async function fetchPreview(id: number, limit = 20): Promise<PreviewRow[]> {
  return (await unwrap(api.GET('/api/v1/imports/{import_id}/preview', { params: { path: { import_id: id }, query: { limit } } }))).rows
}

export function runImport(id: number): Promise<ImportOut> {
  return unwrap(api.POST('/api/v1/imports/{import_id}/run', { params: { path: { import_id: id } } }))
}

export function cancelImport(id: number): Promise<ImportOut> {
  return unwrap(api.POST('/api/v1/imports/{import_id}/cancel', { params: { path: { import_id: id } } }))
}

/** The failed rows with their reasons, as the server writes them (CSV, UTF-8 with BOM). */
export async function fetchFailedRows(id: number): Promise<{ blob: Blob; filename: string }> {
  const call = api.GET('/api/v1/imports/{import_id}/failed-rows', { params: { path: { import_id: id } }, parseAs: 'blob' })
  const blob = (await unwrap(call)) as unknown as Blob
  const { response } = await call
  return { blob, filename: filenameFrom(response.headers.get('Content-Disposition'), `import-${id}-failed-rows.csv`) }
}
