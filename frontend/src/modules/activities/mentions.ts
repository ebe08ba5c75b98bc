// @mentions in notes. The server reads `@[Name](user:123)` tokens out of a note's body and notifies
// those colleagues; people type and read `@Name`. These functions go between the two forms.

/** The token the backend parses (activities/service.py MENTION): a name without "]" or a line break. */
export const MENTION_PATTERN = /@\[([^\]\n]{1,100})\]\(user:(\d{1,20})\)/g

export interface MentionRef {
  id: number
  name: string
}

export type Segment = { type: 'text'; text: string } | { type: 'mention'; id: number; name: string }

/** A name that fits in a token. */
export function canMention(name: string): boolean {
  return name.length > 0 && name.length <= 100 && !/[\]\n]/.test(name)
}

export function mentionToken(m: MentionRef): string {
  return `@[${m.name}](user:${m.id})`
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * Turn what the person typed ("@李娜 请跟进") into the body the server stores ("@[李娜](user:3) 请跟进"),
 * for the colleagues picked from the suggestions. A longer name wins over a shorter one it starts with
 * (李娜娜 over 李娜); a name that was picked and then deleted from the text is simply not there any more.
 */
export function encodeMentions(text: string, picked: MentionRef[]): string {
  const byName = new Map<string, number>()
  for (const p of picked) if (canMention(p.name)) byName.set(p.name, p.id)
  if (byName.size === 0) return text
  const names = [...byName.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp)
  // Skip tokens already in the text, so encoding twice changes nothing.
  const re = new RegExp(`@\\[[^\\]\\n]{1,100}\\]\\(user:\\d{1,20}\\)|@(${names.join('|')})`, 'g')
  return text.replace(re, (whole, name: string | undefined) => (name === undefined ? whole : mentionToken({ id: byName.get(name)!, name })))
}

/** A stored body as text and mention pieces, for showing it with highlighted names. */
export function parseMentions(body: string): Segment[] {
  const out: Segment[] = []
  let last = 0
  for (const m of body.matchAll(new RegExp(MENTION_PATTERN.source, 'g'))) {
    const start = m.index ?? 0
    if (start > last) out.push({ type: 'text', text: body.slice(last, start) })
    out.push({ type: 'mention', name: m[1], id: Number(m[2]) })
    last = start + m[0].length
  }
  if (last < body.length) out.push({ type: 'text', text: body.slice(last) })
  return out
}

/** The ids mentioned in a body, in order, each once. */
export function mentionedIds(body: string): number[] {
  return [...new Set(parseMentions(body).flatMap((s) => (s.type === 'mention' ? [s.id] : [])))]
}

/** A stored body as people type it: tokens back to "@Name" (to edit a note again). */
export function decodeMentions(body: string): { text: string; picked: MentionRef[] } {
  const picked: MentionRef[] = []
  const text = parseMentions(body)
    .map((s) => {
      if (s.type === 'text') return s.text
      if (!picked.some((p) => p.id === s.id)) picked.push({ id: s.id, name: s.name })
      return `@${s.name}`
    })
    .join('')
  return { text, picked }
}
