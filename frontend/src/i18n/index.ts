import { createI18n } from 'vue-i18n'
import zhCN from './zh-CN'
import en from './en'

type DeepStrings<T> = { [K in keyof T]: T[K] extends string ? string : DeepStrings<T[K]> }
/** The shape of every language: zh-CN is the reference, other languages must match it. */
export type MessageSchema = DeepStrings<typeof zhCN>

export const LANGUAGES = ['zh-CN', 'en'] as const
export type Language = (typeof LANGUAGES)[number]
export const messages: Record<Language, MessageSchema> = { 'zh-CN': zhCN, en }

const STORAGE_KEY = 'guanxi.language'

export function normalizeLanguage(value: string | null | undefined): Language {
  if (!value) return 'zh-CN'
  return value.toLowerCase().startsWith('en') ? 'en' : 'zh-CN'
}

function initialLanguage(): Language {
  try {
    const saved = localStorage.getItem(STORAGE_KEY)
    if (saved) return normalizeLanguage(saved)
  } catch {
    /* storage unavailable */
  }
  return 'zh-CN'
}

export const i18n = createI18n<[MessageSchema], Language, false>({
  legacy: false,
  locale: initialLanguage(),
  fallbackLocale: 'zh-CN',
  messages,
  missingWarn: false,
  fallbackWarn: false,
})

export function currentLanguage(): Language {
  return i18n.global.locale.value as Language
}

export function setLanguage(lang: Language): void {
  i18n.global.locale.value = lang
  try {
    localStorage.setItem(STORAGE_KEY, lang)
  } catch {
    /* storage unavailable */
  }
  if (typeof document !== 'undefined') document.documentElement.lang = lang
}

/** Flatten nested messages into dotted keys, for the both-languages test. */
export function flattenKeys(obj: object, prefix = ''): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (v && typeof v === 'object') out.push(...flattenKeys(v as object, key))
    else out.push(key)
  }
  return out
}
