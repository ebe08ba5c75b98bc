import type { FieldError } from '@/api/client'
import type { ImportField, ImportOut, ImportStatus, ImportType, PreviewRow } from './types'

export const IMPORT_TYPES: readonly ImportType[] = ['customers', 'contacts', 'interactions', 'tasks']

/** The permission module whose "import" action allows each type (contacts belong to customers). */
export const TYPE_MODULE: Record<ImportType, string> = {
  customers: 'customers',
  contacts: 'customers',
  interactions: 'activities',
  tasks: 'tasks',
}

/**
 * The largest file the server takes for an import by default (GUANXI_IMPORT_MAX_MB). Only shown as a
 * hint: the server has the final word, with 413 file_too_large.
 */
export const MAX_FILE_BYTES = 100 * 1024 * 1024

export function isImportType(v: unknown): v is ImportType {
  return typeof v === 'string' && (IMPORT_TYPES as readonly string[]).includes(v)
}

/** What the file picker offers: vCard only makes sense for contacts. */
export function acceptFor(type: ImportType): string {
  return type === 'contacts' ? '.csv,.xlsx,.vcf' : '.csv,.xlsx'
}

export function extensionOf(name: string): string {
  const i = name.lastIndexOf('.')
  return i < 0 ? '' : name.slice(i + 1).toLowerCase()
}

/** A file the picker refuses before uploading: a type the server never takes for this import, or nothing. */
export function fileProblem(file: { name: string; size: number }, type: ImportType): 'type' | 'empty' | null {
  const ext = extensionOf(file.name)
  const ok = ext === 'csv' || ext === 'xlsx' || (ext === 'vcf' && type === 'contacts')
  if (!ok) return 'type'
  if (file.size === 0) return 'empty'
  return null
}

export const ACTIVE: readonly ImportStatus[] = ['queued', 'running']
export const FINISHED: readonly ImportStatus[] = ['done', 'failed', 'cancelled']

export type WizardStep = 'upload' | 'mapping' | 'preview' | 'progress' | 'report'
export const STEPS: readonly WizardStep[] = ['upload', 'mapping', 'preview', 'progress', 'report']

/**
 * Where the wizard stands for an import: the status decides, except that an uploaded import may be on
 * its mapping or its preview (the URL remembers which, so a reload lands on the same screen).
 */
export function stepFor(imp: Pick<ImportOut, 'status'> | null, wanted: string | null | undefined): WizardStep {
  if (!imp) return 'upload'
  if (ACTIVE.includes(imp.status)) return 'progress'
  if (FINISHED.includes(imp.status)) return 'report'
  return wanted === 'preview' ? 'preview' : 'mapping'
}

/** Share done, 0–100; null while the number of rows is not known yet. */
export function percentDone(imp: Pick<ImportOut, 'processed' | 'total_rows' | 'status'>): number | null {
  if (imp.status === 'done') return 100
  if (!imp.total_rows) return imp.status === 'queued' ? 0 : null
  return Math.min(100, Math.floor((imp.processed / imp.total_rows) * 100))
}

/** One look at a running import: when (ms) and how many rows it had processed. */
export interface PaceSample {
  at: number
  processed: number
}

/** How far back the speed is measured: long enough to span a few batches, short enough to follow a change. */
export const PACE_WINDOW_MS = 15_000

/** The samples of the last PACE_WINDOW_MS with `next` added; a count that went back (a new run) starts over. */
export function addSample(samples: readonly PaceSample[], next: PaceSample): PaceSample[] {
  const last = samples[samples.length - 1]
  if (last && (next.processed < last.processed || next.at < last.at)) return [next]
  return [...samples.filter((s) => next.at - s.at <= PACE_WINDOW_MS), next]
}

/** Rows per second over the samples and the seconds left at that speed (null without a row total); null until
 *  the count has moved. */
export function pace(samples: readonly PaceSample[], total: number | null): { rate: number; left: number | null } | null {
  if (samples.length < 2) return null
  const first = samples[0]
  const last = samples[samples.length - 1]
  const seconds = (last.at - first.at) / 1000
  if (seconds <= 0 || last.processed <= first.processed) return null
  const rate = (last.processed - first.processed) / seconds
  return { rate, left: total ? Math.max(0, total - last.processed) / rate : null }
}

/** A duration for the `imports.duration` messages: hours and minutes, minutes and seconds, seconds, or "under a
 *  second" (what rounds to 0 s). */
export function durationParts(seconds: number): { key: 'h' | 'm' | 's' | 'under1'; h: number; m: number; s: number } {
  const all = Math.max(0, Math.round(seconds))
  const h = Math.floor(all / 3600)
  const m = Math.floor((all % 3600) / 60)
  const s = all % 60
  return { key: h ? 'h' : m ? 'm' : s ? 's' : 'under1', h, m, s }
}

/** A duration in the user's language ("3 分 41 秒"). */
export function formatDuration(t: (key: string, params: Record<string, number>) => string, seconds: number): string {
  const d = durationParts(seconds)
  return t(`imports.duration.${d.key}`, { h: d.h, m: d.m, s: d.s })
}

/** Seconds from the import's start to its end (a resumed import counts the time it stood still). */
export function elapsedSeconds(imp: Pick<ImportOut, 'started_at' | 'finished_at'>): number | null {
  if (!imp.started_at || !imp.finished_at) return null
  const ms = Date.parse(imp.finished_at) - Date.parse(imp.started_at)
  return Number.isFinite(ms) && ms >= 0 ? ms / 1000 : null
}

export type Mapping = Record<string, string | null>

/** Fields several columns may fill, as the server allows: 手机 and 座机 both go to phones. */
export const MULTI_COLUMN_FIELDS: ReadonlySet<string> = new Set(['phones', 'emails', 'tags'])

export interface MappingProblems {
  /** header → "mapped_twice" when its field is also chosen for another column */
  byHeader: Record<string, { code: 'mapped_twice'; field: string }>
  /** required fields no column is mapped to */
  requiredUnmapped: ImportField[]
  ok: boolean
}

/** The checks the server makes on PUT …/mapping, done while the user picks, so errors show at once. */
export function checkMapping(mapping: Mapping, headers: readonly string[], fields: readonly ImportField[]): MappingProblems {
  const byField = new Map<string, string[]>()
  for (const h of headers) {
    const f = mapping[h]
    if (!f) continue
    byField.set(f, [...(byField.get(f) ?? []), h])
  }
  const byHeader: MappingProblems['byHeader'] = {}
  for (const [field, hs] of byField) {
    if (hs.length > 1 && !MULTI_COLUMN_FIELDS.has(field)) for (const h of hs) byHeader[h] = { code: 'mapped_twice', field }
  }
  const requiredUnmapped = fields.filter((f) => f.required && !byField.has(f.key))
  return { byHeader, requiredUnmapped, ok: Object.keys(byHeader).length === 0 && requiredUnmapped.length === 0 }
}

/** Only the file's columns, each with a known field or null: what PUT …/mapping takes. */
export function cleanMapping(mapping: Mapping, headers: readonly string[], fields: readonly ImportField[]): Mapping {
  const known = new Set(fields.map((f) => f.key))
  const out: Mapping = {}
  for (const h of headers) {
    const f = mapping[h]
    out[h] = f && known.has(f) ? f : null
  }
  return out
}

/**
 * The server's 422 field errors, split into those about one column ("mapping.<header>") and the rest
 * (e.g. a required field no column maps to, named by its field key).
 */
export function splitMappingErrors(errors: readonly FieldError[], headers: readonly string[]): { byHeader: Record<string, string>; other: FieldError[] } {
  const byHeader: Record<string, string> = {}
  const other: FieldError[] = []
  const set = new Set(headers)
  for (const e of errors) {
    const header = e.field.startsWith('mapping.') ? e.field.slice('mapping.'.length) : null
    if (header !== null && set.has(header)) byHeader[header] = byHeader[header] ? `${byHeader[header]}；${e.message}` : e.message
    else other.push(e)
  }
  return { byHeader, other }
}

/** Up to `n` sample values of one column, skipping blanks. */
export function samplesOf(sample: readonly (readonly string[])[], column: number, n = 3): string[] {
  const out: string[] = []
  for (const row of sample) {
    const v = (row[column] ?? '').trim()
    if (v) out.push(v)
    if (out.length >= n) break
  }
  return out
}

export function csvCell(value: string): string {
  return /[",\r\n]/.test(value) || /^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

/**
 * A CSV template for a type: one column per field, headed by its label (the server recognises its own
 * labels), required fields first; UTF-8 with a BOM so Excel opens it in Chinese.
 */
export function templateCsv(fields: readonly ImportField[], example?: Record<string, string>): string {
  const ordered = [...fields.filter((f) => f.required), ...fields.filter((f) => !f.required)]
  const lines = [ordered.map((f) => csvCell(f.label)).join(',')]
  if (example) lines.push(ordered.map((f) => csvCell(example[f.key] ?? '')).join(','))
  return `\uFEFF${lines.join('\r\n')}\r\n`
}

export interface PreviewSummary {
  rows: number
  withProblems: number
  duplicates: number
  actions: Record<PreviewRow['action'], number>
}

export function summarizePreview(rows: readonly PreviewRow[]): PreviewSummary {
  const actions = { create: 0, update: 0, skip: 0, fail: 0 }
  let withProblems = 0
  let duplicates = 0
  for (const r of rows) {
    actions[r.action] += 1
    if (r.errors.length) withProblems += 1
    if (r.duplicate) duplicates += 1
  }
  return { rows: rows.length, withProblems, duplicates, actions }
}

/** The messages of a row's problems with one field ('' when none). */
export function cellErrors(row: PreviewRow, field: string): string {
  return row.errors
    .filter((e) => e.field === field)
    .map((e) => e.message)
    .join('；')
}

/**
 * How the report says duplicates were handled, as i18n keys under imports.mapping: the mode, and for updates
 * whether empty fields were filled or the file's values overwrote the existing ones.
 */
export function duplicateHandling(imp: Pick<ImportOut, 'type' | 'duplicate_mode' | 'update_fields'>): string[] {
  const mode = imp.duplicate_mode
  if (mode !== 'update') return [`modes.${mode}`]
  return [imp.type === 'customers' ? 'modes.update' : 'modes.updateOther', `updateFields.${imp.update_fields ?? 'fill'}`]
}
