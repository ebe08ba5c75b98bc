/** One row of a channel list (获客渠道, 沟通渠道). */
export interface ChannelItem {
  key: string
  label: string
  label_en?: string | null
  builtin: boolean
}

/** What the add and edit forms send. */
export interface ChannelInput {
  label: string
  label_en: string | null
}
