// The import API's shapes, named for this module (aliases of the generated schema).
import type { ImportOut, PreviewRow } from '@/api/types'

export type { ImportField, ImportOut, ImportType, PreviewRow } from '@/api/types'
export type ImportStatus = ImportOut['status']
export type DuplicateMode = ImportOut['duplicate_mode']
export type RowAction = PreviewRow['action']
