import { api, unwrap } from '@/api/client'
import { filenameFrom } from '@/utils/download'
import type { DuplicateMode, ImportField, ImportOut, ImportType, PreviewRow } from './types'

// The import endpoints are not in the generated client yet: call them through the same client (cookies,
// CSRF, language, 401 handling) with the shapes of the contract.
interface Loose {
  GET(path: string, init?: object): Promise<{ data?: unknown; error?: unknown; response: Response }>
  POST(path: string, init?: object): Promise<{ data?: unknown; error?: unknown; response: Response }>
  PUT(path: string, init?: object): Promise<{ data?: unknown; error?: unknown; response: Response }>
}
const loose = api as unknown as Loose

export function fetchFields(type: ImportType): Promise<ImportField[]> {
  return unwrap(loose.GET('/api/v1/imports/fields', { params: { query: { type } } })) as Promise<ImportField[]>
}

export function uploadFile(file: File, type: ImportType): Promise<ImportOut> {
  return unwrap(
    loose.POST('/api/v1/imports', {
      body: {},
      bodySerializer: () => {
        const fd = new FormData()
        fd.append('type', type)
        fd.append('file', file, file.name)
        return fd
      },
    }),
  ) as Promise<ImportOut>
}

export async function listImports(type?: ImportType): Promise<ImportOut[]> {
  const res = (await unwrap(loose.GET('/api/v1/imports', { params: { query: type ? { type } : {} } }))) as { items: ImportOut[] }
  return res.items
}

export function getImport(id: number): Promise<ImportOut> {
  return unwrap(loose.GET(`/api/v1/imports/${id}`)) as Promise<ImportOut>
}

export function saveMapping(id: number, mapping: Record<string, string | null>, duplicate_mode: DuplicateMode): Promise<ImportOut> {
  return unwrap(loose.PUT(`/api/v1/imports/${id}/mapping`, { body: { mapping, duplicate_mode } })) as Promise<ImportOut>
}

export async function fetchPreview(id: number, limit = 20): Promise<PreviewRow[]> {
  const res = (await unwrap(loose.GET(`/api/v1/imports/${id}/preview`, { params: { query: { limit } } }))) as { rows: PreviewRow[] }
  return res.rows
}

export function runImport(id: number): Promise<ImportOut> {
  return unwrap(loose.POST(`/api/v1/imports/${id}/run`)) as Promise<ImportOut>
}

export function cancelImport(id: number): Promise<ImportOut> {
  return unwrap(loose.POST(`/api/v1/imports/${id}/cancel`)) as Promise<ImportOut>
}

/** The failed rows with their reasons, as the server writes them (CSV, UTF-8 with BOM). */
export async function fetchFailedRows(id: number): Promise<{ blob: Blob; filename: string }> {
  const call = loose.GET(`/api/v1/imports/${id}/failed-rows`, { parseAs: 'blob' })
  const blob = (await unwrap(call)) as Blob
  const { response } = await call
  return { blob, filename: filenameFrom(response.headers.get('Content-Disposition'), `import-${id}-failed-rows.csv`) }
}
