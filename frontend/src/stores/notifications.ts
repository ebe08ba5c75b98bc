import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api, ApiError, unwrap } from '@/api/client'
import type { Notification } from '@/api/types'

export const POLL_MS = 20_000

/**
 * The signed-in user's notifications. The unread count is polled (every 20 s, and at once when the
 * window comes back into focus), so the bell updates without a reload; the list loads when opened.
 */
export const useNotificationStore = defineStore('notifications', () => {
  const unread = ref(0)
  const capped = ref(false)
  const items = ref<Notification[]>([])
  const next = ref<string | null>(null)
  const loading = ref(false)
  const loaded = ref(false)
  const unreadOnly = ref(false)
  let timer: ReturnType<typeof setInterval> | null = null
  let inFlight: Promise<void> | null = null

  async function refreshCount(): Promise<void> {
    if (inFlight) return inFlight
    inFlight = (async () => {
      try {
        const c = await unwrap(api.GET('/api/v1/notifications/unread-count'))
        unread.value = c.count
        capped.value = !!c.capped
      } catch (e) {
        // A missed poll is retried on the next tick; a 401 is handled by the client (back to login).
        if (!(e instanceof ApiError)) throw e
      } finally {
        inFlight = null
      }
    })()
    return inFlight
  }

  async function loadList(more = false): Promise<void> {
    loading.value = true
    try {
      const query: { limit: number; unread?: boolean; cursor?: string } = { limit: 20 }
      if (unreadOnly.value) query.unread = true
      if (more && next.value) query.cursor = next.value
      const page = await unwrap(api.GET('/api/v1/notifications', { params: { query } }))
      items.value = more ? [...items.value, ...page.items] : page.items
      next.value = page.next_cursor ?? null
      loaded.value = true
    } finally {
      loading.value = false
    }
  }

  async function markRead(n: Notification): Promise<void> {
    if (n.read_at) return
    const updated = await unwrap(api.POST('/api/v1/notifications/{notification_id}/read', { params: { path: { notification_id: n.id } } }))
    items.value = items.value.map((x) => (x.id === n.id ? updated : x))
    if (!capped.value) unread.value = Math.max(0, unread.value - 1)
    else refreshCount()
  }

  async function markAllRead(): Promise<void> {
    await unwrap(api.POST('/api/v1/notifications/read-all'))
    const now = new Date().toISOString()
    items.value = unreadOnly.value ? [] : items.value.map((x) => (x.read_at ? x : { ...x, read_at: now }))
    unread.value = 0
    capped.value = false
  }

  function onFocus() {
    refreshCount()
  }
  function onVisibility() {
    if (document.visibilityState === 'visible') refreshCount()
  }

  function start(): void {
    if (timer) return
    refreshCount()
    timer = setInterval(() => {
      if (typeof document === 'undefined' || document.visibilityState !== 'hidden') refreshCount()
    }, POLL_MS)
    window.addEventListener('focus', onFocus)
    document.addEventListener('visibilitychange', onVisibility)
  }

  function stop(): void {
    if (timer) clearInterval(timer)
    timer = null
    window.removeEventListener('focus', onFocus)
    document.removeEventListener('visibilitychange', onVisibility)
  }

  return { unread, capped, items, next, loading, loaded, unreadOnly, refreshCount, loadList, markRead, markAllRead, start, stop }
})
