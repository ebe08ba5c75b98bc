// The import API's shapes, named for this module (aliases of the generated schema).
import type { ImportOut, PreviewRow } from '@/api/types'

export type { ImportField, ImportOut, ImportType, PreviewRow } from '@/api/types'
export type ImportStatus = ImportOut['status']
export type DuplicateMode = ImportOut['duplicate_mode']
/** What "update" does to an existing record: fill its empty fields, or overwrite them with the file's values. */
export type UpdateFields = NonNullable<ImportOut['update_fields']>
export type RowAction = PreviewRow['action']
