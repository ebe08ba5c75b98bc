import { describe, expect, it } from 'vitest'
import { createCursorPager } from '@/stores/pager'

describe('cursor pager', () => {
  it('starts on page one with no cursor', () => {
    const p = createCursorPager()
    expect(p.page.value).toBe(1)
    expect(p.cursor.value).toBeNull()
    expect(p.hasPrev.value).toBe(false)
    expect(p.hasNext.value).toBe(false)
  })

  it('walks forward and back through the cursors it was given', () => {
    const p = createCursorPager()
    p.setNext('c2')
    expect(p.hasNext.value).toBe(true)
    expect(p.goNext()).toBe('c2')
    expect(p.page.value).toBe(2)
    expect(p.hasNext.value).toBe(false) // unknown until page 2 has loaded
    p.setNext('c3')
    expect(p.goNext()).toBe('c3')
    expect(p.page.value).toBe(3)
    p.setNext(null)
    expect(p.hasNext.value).toBe(false)
    expect(p.goNext()).toBeNull()
    expect(p.page.value).toBe(3)

    expect(p.goPrev()).toBe('c2')
    expect(p.page.value).toBe(2)
    expect(p.goPrev()).toBeNull() // the first page is loaded without a cursor
    expect(p.page.value).toBe(1)
    expect(p.hasPrev.value).toBe(false)
    expect(p.goPrev()).toBeUndefined()
  })

  it('reset goes back to the first page', () => {
    const p = createCursorPager()
    p.setNext('c2')
    p.goNext()
    p.setNext('c3')
    p.reset()
    expect(p.page.value).toBe(1)
    expect(p.cursor.value).toBeNull()
    expect(p.hasNext.value).toBe(false)
    expect(p.state.stack).toEqual([null])
  })
})
