import { computed, reactive } from 'vue'

/**
 * Keyset pagination: the server only gives a `next_cursor`, so going back means remembering
 * the cursors of the pages we came through. `stack[i]` is the cursor that loads page i
 * (null for the first page).
 */
export function createCursorPager() {
  const state = reactive({
    stack: [null] as (string | null)[],
    next: null as string | null,
  })

  const page = computed(() => state.stack.length) // 1-based
  const cursor = computed(() => state.stack[state.stack.length - 1])
  const hasPrev = computed(() => state.stack.length > 1)
  const hasNext = computed(() => !!state.next)

  /** Record what the server answered for the current page. */
  function setNext(next: string | null | undefined) {
    state.next = next ?? null
  }

  /** Move forward; returns the cursor to load, or null when there is no next page. */
  function goNext(): string | null {
    if (!state.next) return null
    state.stack.push(state.next)
    state.next = null
    return cursor.value
  }

  /** Move back; returns the cursor to load (null for the first page) or undefined if already first. */
  function goPrev(): string | null | undefined {
    if (state.stack.length <= 1) return undefined
    state.stack.pop()
    state.next = null
    return cursor.value
  }

  /** Start again from the first page (after a change of search, filter, sort or page size). */
  function reset() {
    state.stack.splice(0, state.stack.length, null)
    state.next = null
  }

  return { state, page, cursor, hasPrev, hasNext, setNext, goNext, goPrev, reset }
}

export type CursorPager = ReturnType<typeof createCursorPager>
