import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api, ApiError, unwrap } from '@/api/client'
import type { ExportCreate, ExportJob, ExportLimits } from '@/api/types'
import { filenameFrom, saveBlob } from '@/utils/download'

export type ExportRequest = Omit<ExportCreate, 'format'>
export type ExportFormat = 'csv' | 'xlsx'

const POLL_MS = 1000

/**
 * Exports as the user sees them: small lists download at once, big ones (over the server's threshold, or a
 * capped "10000+") become a background job whose progress shows in one dialog, kept in 导出记录.
 */
export const useExportsStore = defineStore('exports', () => {
  const limits = ref<ExportLimits | null>(null)
  const active = ref<ExportJob | null>(null)
  const dialogOpen = ref(false)
  let timer: ReturnType<typeof setTimeout> | null = null

  async function loadLimits(): Promise<ExportLimits> {
    if (!limits.value) limits.value = await unwrap(api.GET('/api/v1/exports/limits'))
    return limits.value
  }

  /** Whether a list of `total` rows (capped: at least that many) should be a job rather than a download. */
  async function needsJob(total: number | null | undefined, capped: boolean): Promise<boolean> {
    const l = await loadLimits()
    return capped || (total ?? 0) > l.job_threshold
  }

  function stopPolling() {
    if (timer) clearTimeout(timer)
    timer = null
  }

  async function poll() {
    stopPolling()
    const job = active.value
    if (!job || job.status === 'done' || job.status === 'failed' || job.status === 'expired') return
    try {
      active.value = await unwrap(api.GET('/api/v1/exports/{export_id}', { params: { path: { export_id: job.id } } }))
    } catch {
      /* a network blip: try again */
    }
    timer = setTimeout(poll, POLL_MS)
  }

  /** Start a job and show its progress. */
  async function startJob(body: ExportCreate): Promise<ExportJob> {
    const job = await unwrap(api.POST('/api/v1/exports', { body }))
    active.value = job
    dialogOpen.value = true
    timer = setTimeout(poll, POLL_MS / 2)
    return job
  }

  /** Open the progress dialog for a job already running (from 导出记录). */
  function watch(job: ExportJob) {
    active.value = job
    dialogOpen.value = true
    void poll()
  }

  /** Download a small list now, through the same writer as the jobs. */
  async function direct(body: ExportCreate): Promise<void> {
    const res = api.POST('/api/v1/exports/direct', { body, parseAs: 'blob' })
    const blob = (await unwrap(res)) as unknown as Blob
    const { response } = await res
    saveBlob(blob, filenameFrom(response.headers.get('Content-Disposition'), `${body.list}.${body.format}`))
  }

  /** Any list: a direct download when small, else a job. */
  async function run(req: ExportRequest, format: ExportFormat, total: number | null | undefined, capped: boolean) {
    const body = { ...req, format } as ExportCreate
    if (await needsJob(total, capped)) {
      await startJob(body)
      return
    }
    try {
      await direct(body)
    } catch (e) {
      // a list whose size was not known beforehand turned out too big to download at once
      if (e instanceof ApiError && e.code === 'export_too_large') await startJob(body)
      else throw e
    }
  }

  function close() {
    dialogOpen.value = false
    stopPolling()
  }

  return { limits, active, dialogOpen, loadLimits, needsJob, startJob, watch, direct, run, close }
})

/** The file of a finished job: a plain link, so the browser streams it to disk however big it is. */
export function downloadJob(job: ExportJob): void {
  if (!job.download_url) return
  const a = document.createElement('a')
  a.href = job.download_url
  a.download = job.filename ?? ''
  a.style.display = 'none'
  document.body.appendChild(a)
  a.click()
  a.remove()
}
