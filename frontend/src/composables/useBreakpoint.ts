import { onBeforeUnmount, ref } from 'vue'

/** True below 768px: the shell uses a drawer and lists become cards. */
export function useIsMobile(query = '(max-width: 767px)') {
  const mql = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia(query) : null
  const isMobile = ref(mql ? mql.matches : false)
  const onChange = (e: MediaQueryListEvent) => (isMobile.value = e.matches)
  mql?.addEventListener?.('change', onChange)
  onBeforeUnmount(() => mql?.removeEventListener?.('change', onChange))
  return isMobile
}
