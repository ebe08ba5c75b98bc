import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import CursorPagerBar from '@/components/CursorPagerBar.vue'
import { i18n } from '@/i18n'

function mountBar(props: Record<string, unknown>) {
  return mount(CursorPagerBar, { props: { page: 1, hasPrev: false, hasNext: true, ...props }, global: { plugins: [i18n, ElementPlus] } })
}

describe('CursorPagerBar', () => {
  it('shows the total, or 10000+ when the count is capped', () => {
    i18n.global.locale.value = 'zh-CN'
    expect(mountBar({ total: 120, totalCapped: false }).get('[data-testid="list-total"]').text()).toBe('共 120 个客户')
    expect(mountBar({ total: 10000, totalCapped: true }).get('[data-testid="list-total"]').text()).toBe('共 10000+ 个客户')
  })

  it('enables the buttons that can be used and emits prev/next', async () => {
    const w = mountBar({ page: 2, hasPrev: true, hasNext: false })
    const prev = w.get('[data-testid="pager-prev"]')
    const next = w.get('[data-testid="pager-next"]')
    expect(prev.attributes('disabled')).toBeUndefined()
    expect(next.attributes('disabled')).toBeDefined()
    await prev.trigger('click')
    expect(w.emitted('prev')).toHaveLength(1)
  })
})
