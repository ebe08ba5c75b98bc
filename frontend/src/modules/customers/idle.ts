/** How worrying a customer's silence is, for colouring "最近联系": a week, a month, or longer. */
export function idleClass(days: number | null | undefined): 'never' | 'recent' | 'ok' | 'idle' | 'stale' {
  if (days === null || days === undefined) return 'never'
  if (days <= 7) return 'recent'
  if (days < 30) return 'ok'
  if (days < 90) return 'idle'
  return 'stale'
}
