import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, ApiError, unwrap } from '@/api/client'
import type { Me } from '@/api/types'
import { normalizeLanguage, setLanguage, type Language } from '@/i18n'
import { setUserTimezone } from '@/utils/format'

export const useAuthStore = defineStore('auth', () => {
  const me = ref<Me | null>(null)
  const checked = ref(false)

  function apply(next: Me | null) {
    me.value = next
    if (next) {
      setLanguage(normalizeLanguage(next.language))
      setUserTimezone(next.timezone)
    }
  }

  /** Load the current user once; a 401 just means "not logged in". */
  async function ensureLoaded(): Promise<Me | null> {
    if (checked.value) return me.value
    try {
      apply(await unwrap(api.GET('/api/v1/me')))
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e
      me.value = null
    } finally {
      checked.value = true
    }
    return me.value
  }

  async function login(login: string, password: string): Promise<Me> {
    const result = await unwrap(api.POST('/api/v1/auth/login', { body: { login, password } }))
    apply(result)
    checked.value = true
    return result
  }

  async function logout(): Promise<void> {
    try {
      await unwrap(api.POST('/api/v1/auth/logout'))
    } finally {
      me.value = null
    }
  }

  async function update(patch: { name?: string; language?: Language; timezone?: string }): Promise<Me> {
    const result = await unwrap(api.PATCH('/api/v1/me', { body: patch }))
    apply(result)
    return result
  }

  /** Forget the session locally (after a 401 from any call). */
  function clear() {
    me.value = null
    checked.value = true
  }

  function can(module: string, action: string): boolean {
    const perms = me.value?.permissions as Record<string, string[] | undefined> | undefined
    return !!perms?.[module]?.includes(action)
  }

  const isAdmin = computed(() => !!me.value?.is_admin)
  const canReassign = computed(() => !!me.value?.can_reassign)

  return { me, checked, ensureLoaded, login, logout, update, clear, can, isAdmin, canReassign }
})
