import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, unwrap } from '@/api/client'
import type { CustomerMeta, CustomFieldDef, InteractionChannel, SourceChannel, Team, UserLookup } from '@/api/types'
import { currentLanguage } from '@/i18n'

/** Workspace metadata the customer screens need: field labels, custom fields, source channels. */
export const useMetaStore = defineStore('meta', () => {
  const customerMeta = ref<CustomerMeta | null>(null)
  const sources = ref<SourceChannel[]>([])
  const teams = ref<Team[]>([])
  const users = ref<Record<number, UserLookup>>({})
  const channels = ref<InteractionChannel[]>([])
  let loading: Promise<void> | null = null
  let channelsLoading: Promise<InteractionChannel[]> | null = null
  let channelsLoaded = false

  /** Interaction channels (电话, 邮件, 面谈 … and the workspace's own), in their order. */
  async function loadChannels(force = false): Promise<InteractionChannel[]> {
    if (channelsLoaded && !force) return channels.value
    if (channelsLoading && !force) return channelsLoading
    channelsLoading = unwrap(api.GET('/api/v1/interaction-channels')).then((list) => {
      channels.value = [...list].sort((a, b) => Number(b.builtin) - Number(a.builtin) || a.position - b.position)
      channelsLoaded = true
      return channels.value
    })
    try {
      return await channelsLoading
    } finally {
      channelsLoading = null
    }
  }

  function channelLabel(key: string | null | undefined, fallback = ''): string {
    if (!key) return fallback
    const c = channels.value.find((x) => x.key === key)
    if (!c) return fallback || key
    return currentLanguage() === 'en' ? c.label_en || c.label : c.label
  }

  async function load(force = false): Promise<void> {
    if (customerMeta.value && !force) return
    if (loading && !force) return loading
    loading = (async () => {
      const [meta, channels, teamList] = await Promise.all([
        unwrap(api.GET('/api/v1/customers/meta')),
        unwrap(api.GET('/api/v1/source-channels')),
        unwrap(api.GET('/api/v1/teams')).catch(() => [] as Team[]),
      ])
      customerMeta.value = meta
      sources.value = channels
      teams.value = teamList
    })()
    try {
      await loading
    } finally {
      loading = null
    }
  }

  const customFields = computed<CustomFieldDef[]>(() =>
    [...(customerMeta.value?.custom_fields ?? [])].sort((a, b) => a.position - b.position),
  )

  function fieldLabel(name: string): string | null {
    if (name.startsWith('custom.')) {
      const key = name.slice(7)
      return customFields.value.find((f) => f.key === key)?.label ?? null
    }
    return customerMeta.value?.fields.find((f) => f.name === name)?.label ?? null
  }

  function sourceLabel(key: string | null | undefined): string {
    if (!key) return ''
    return sources.value.find((s) => s.key === key)?.label ?? key
  }

  function rememberUsers(list: UserLookup[]) {
    const next = { ...users.value }
    for (const u of list) next[u.id] = u
    users.value = next
  }

  async function lookupUsers(q: string): Promise<UserLookup[]> {
    const list = await unwrap(api.GET('/api/v1/users/lookup', { params: { query: { q } } }))
    rememberUsers(list)
    return list
  }

  function userName(id: number | string | null | undefined): string {
    if (id === null || id === undefined || id === '') return ''
    return users.value[Number(id)]?.name ?? ''
  }

  function teamName(id: number | string | null | undefined): string {
    if (id === null || id === undefined || id === '') return ''
    return teams.value.find((t) => t.id === Number(id))?.name ?? ''
  }

  function reset() {
    customerMeta.value = null
    sources.value = []
    teams.value = []
    users.value = {}
    channels.value = []
    channelsLoaded = false
  }

  return { channels, loadChannels, channelLabel, teams, teamName, customerMeta, sources, customFields, load, fieldLabel, sourceLabel, lookupUsers, rememberUsers, userName, users, reset }
})
