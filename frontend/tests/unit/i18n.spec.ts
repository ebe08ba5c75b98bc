import { describe, expect, it } from 'vitest'
import zhCN from '@/i18n/zh-CN'
import en from '@/i18n/en'
import { flattenKeys, normalizeLanguage } from '@/i18n'

describe('i18n', () => {
  const zhKeys = flattenKeys(zhCN)
  const enKeys = flattenKeys(en)

  it('has every zh-CN key in English', () => {
    expect(enKeys.length).toBeGreaterThan(100)
    expect(zhKeys.filter((k) => !enKeys.includes(k))).toEqual([])
  })

  it('has every English key in zh-CN', () => {
    expect(enKeys.filter((k) => !zhKeys.includes(k))).toEqual([])
  })

  it('has no empty messages', () => {
    const get = (o: object, k: string) => k.split('.').reduce<unknown>((a, p) => (a as Record<string, unknown>)[p], o)
    expect(zhKeys.filter((k) => !String(get(zhCN, k)).trim())).toEqual([])
    expect(enKeys.filter((k) => !String(get(en, k)).trim())).toEqual([])
  })

  it('uses the CRM terms of the articles', () => {
    expect(zhCN.customer.kind).toEqual({ company: '企业客户', person: '个人客户' })
    expect(Object.values(zhCN.customer.source)).toEqual(['老客户介绍', '广告宣传', '销售人员开发', '客服人员开发', '网络', '活动', '其他'])
    expect(Object.values(zhCN.customer.stage)).toEqual(['潜在客户', '首次购买', '重复购买', '忠诚客户', '流失风险', '流失'])
    expect(zhCN.nav.recycleBin).toBe('回收站')
    expect(zhCN.detail.tabHistory).toBe('变更历史')
  })

  it('keeps the same placeholders in both languages', () => {
    const get = (o: object, k: string) => String(k.split('.').reduce<unknown>((a, p) => (a as Record<string, unknown>)[p], o))
    const vars = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
    const mismatched = zhKeys.filter((k) => JSON.stringify(vars(get(zhCN, k))) !== JSON.stringify(vars(get(en, k))))
    expect(mismatched).toEqual([])
  })

  it('normalises language codes', () => {
    expect(normalizeLanguage('en-US')).toBe('en')
    expect(normalizeLanguage('zh-CN')).toBe('zh-CN')
    expect(normalizeLanguage(null)).toBe('zh-CN')
  })
})

describe('message syntax', () => {
  it('every message compiles (no stray @, |, { or } in the text)', async () => {
    const { createI18n } = await import('vue-i18n')
    for (const [lang, msgs] of [['zh-CN', zhCN], ['en', en]] as const) {
      const errors: string[] = []
      const i = createI18n({ legacy: false, locale: lang, messages: { [lang]: msgs }, missingWarn: false, fallbackWarn: false })
      const keys = flattenKeys(msgs)
      for (const k of keys) {
        try {
          const out = i.global.t(k, { n: 1, seconds: 1, name: 'x', field: 'x', size: 'x', owner: 'x', time: 'x', user: 'x' })
          if (typeof out !== 'string' || out === k) errors.push(`${lang}:${k}`)
        } catch (e) {
          errors.push(`${lang}:${k}: ${String(e)}`)
        }
      }
      expect(errors).toEqual([])
    }
  })
})
