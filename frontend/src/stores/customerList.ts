import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, unwrap } from '@/api/client'
import type { Customer, DuplicateMatch } from '@/api/types'
import { createCursorPager } from './pager'
import { buildListQuery, countActiveFilters, emptyFilters, type CustomerFilters } from '@/modules/customers/filters'
import { useMetaStore } from './meta'
import { getUserTimezone } from '@/utils/format'

export const PAGE_SIZES = [20, 50, 100]
const LIMIT_KEY = 'guanxi.customers.limit'

function savedLimit(): number {
  try {
    const n = Number(localStorage.getItem(LIMIT_KEY))
    if (PAGE_SIZES.includes(n)) return n
  } catch {
    /* no storage */
  }
  return 20
}

/** The customer list's state lives here, so coming back from a customer keeps page and filters. */
export const useCustomerListStore = defineStore('customerList', () => {
  const q = ref('')
  const sort = ref<string | null>(null)
  const filters = ref<CustomerFilters>(emptyFilters())
  const limit = ref(savedLimit())
  const pager = createCursorPager()
  const items = ref<Customer[]>([])
  const total = ref<number | null>(null)
  const totalCapped = ref(false)
  const loading = ref(false)
  const loaded = ref(false)
  const error = ref<unknown>(null)
  let seq = 0
  /** Possible duplicates the server reported when a customer was just created (shown on its page). */
  const createdDuplicates = ref<Record<number, DuplicateMatch[]>>({})

  const meta = useMetaStore()
  const activeFilterCount = computed(() => countActiveFilters(filters.value, meta.customFields))
  const isFiltered = computed(() => !!q.value.trim() || activeFilterCount.value > 0)

  async function load(): Promise<void> {
    const mine = ++seq
    loading.value = true
    error.value = null
    try {
      const query = buildListQuery({
        q: q.value,
        sort: sort.value,
        filters: filters.value,
        customFields: meta.customFields,
        cursor: pager.cursor.value,
        limit: limit.value,
        tz: getUserTimezone(),
      })
      const page = await unwrap(api.GET('/api/v1/customers', { params: { query } }))
      if (mine !== seq) return // a newer request is on its way
      items.value = page.items
      total.value = page.total ?? null
      totalCapped.value = !!page.total_capped
      pager.setNext(page.next_cursor)
      loaded.value = true
    } catch (e) {
      if (mine === seq) error.value = e
      throw e
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  /** Search, filter, sort or page size changed: back to page one. */
  function restart(): Promise<void> {
    pager.reset()
    return load()
  }

  async function next() {
    if (pager.goNext() !== null) await load()
  }
  async function prev() {
    if (pager.goPrev() !== undefined) await load()
  }

  function setLimit(n: number) {
    limit.value = n
    try {
      localStorage.setItem(LIMIT_KEY, String(n))
    } catch {
      /* no storage */
    }
    return restart()
  }

  function clearFilters() {
    filters.value = emptyFilters()
    return restart()
  }

  const page = pager.page
  const hasPrev = pager.hasPrev
  const hasNext = pager.hasNext

  return { createdDuplicates, q, sort, filters, limit, page, hasPrev, hasNext, items, total, totalCapped, loading, loaded, error, activeFilterCount, isFiltered, load, restart, next, prev, setLimit, clearFilters }
})
