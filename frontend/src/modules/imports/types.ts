// Shapes of the import API (see docs/api-contract.md, "imports"). Replaced by aliases of the generated
// schema once the endpoints are in openapi.json.
export type ImportType = 'customers' | 'contacts' | 'interactions' | 'tasks'
export type ImportStatus = 'uploaded' | 'queued' | 'running' | 'done' | 'failed' | 'cancelled'
export type DuplicateMode = 'skip' | 'update' | 'create'
export type RowAction = 'create' | 'update' | 'skip' | 'fail'

export interface ImportField {
  key: string
  label: string
  required: boolean
  type: string
}

export interface ImportOut {
  id: number
  type: ImportType
  status: ImportStatus
  filename: string
  size_bytes: number
  file_format: 'csv' | 'xlsx' | 'vcf'
  encoding: string | null
  headers: string[]
  sample: string[][]
  mapping: Record<string, string | null>
  duplicate_mode: DuplicateMode
  total_rows: number | null
  processed: number
  created: number
  updated: number
  skipped: number
  failed: number
  error: { code: string; message: string } | null
  created_by_name: string | null
  created_at: string
  started_at: string | null
  finished_at: string | null
  has_failed_rows: boolean
}

export interface PreviewRow {
  line: number
  values: Record<string, string | null>
  errors: { field: string; code: string; message: string }[]
  duplicate: { reason: 'phone' | 'email' | 'name' | 'in_file'; existing_id: number | null; existing_name: string | null; line: number | null } | null
  action: RowAction
}
