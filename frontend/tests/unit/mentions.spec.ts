import { describe, expect, it } from 'vitest'
import { canMention, decodeMentions, encodeMentions, mentionedIds, mentionToken, parseMentions } from '@/modules/activities/mentions'

describe('@mentions: typed text → stored tokens', () => {
  it('turns a picked colleague into the token the server parses', () => {
    expect(encodeMentions('@李娜 请跟进报价', [{ id: 3, name: '李娜' }])).toBe('@[李娜](user:3) 请跟进报价')
    expect(mentionToken({ id: 12, name: 'Daniel Wong' })).toBe('@[Daniel Wong](user:12)')
  })

  it('encodes every occurrence, also with no space after the name', () => {
    expect(encodeMentions('@李娜请看，@李娜', [{ id: 3, name: '李娜' }])).toBe('@[李娜](user:3)请看，@[李娜](user:3)')
  })

  it('prefers the longer name when one name starts with another', () => {
    const picked = [
      { id: 1, name: '李娜' },
      { id: 2, name: '李娜娜' },
    ]
    expect(encodeMentions('@李娜娜 和 @李娜 ', picked)).toBe('@[李娜娜](user:2) 和 @[李娜](user:1) ')
  })

  it('leaves an @ nobody picked, and names that were deleted, as plain text', () => {
    expect(encodeMentions('邮件发到 sales@example.com，@王五 看下', [{ id: 7, name: '赵六' }])).toBe('邮件发到 sales@example.com，@王五 看下')
    expect(encodeMentions('没有提及', [])).toBe('没有提及')
  })

  it('does not encode twice, and treats regex characters in names literally', () => {
    const once = encodeMentions('@Daniel (HK) hi', [{ id: 9, name: 'Daniel (HK)' }])
    expect(once).toBe('@[Daniel (HK)](user:9) hi')
    expect(encodeMentions(once, [{ id: 9, name: 'Daniel (HK)' }])).toBe(once)
  })

  it('skips names a token cannot hold', () => {
    expect(canMention('a]b')).toBe(false)
    expect(canMention('')).toBe(false)
    expect(encodeMentions('@a]b hi', [{ id: 1, name: 'a]b' }])).toBe('@a]b hi')
  })
})

describe('@mentions: stored body → what people read', () => {
  const body = '@[李娜](user:3) 客户要 @[张伟](user:4) 的报价，@李四 不是提及'

  it('splits text and mentions in order', () => {
    expect(parseMentions(body)).toEqual([
      { type: 'mention', id: 3, name: '李娜' },
      { type: 'text', text: ' 客户要 ' },
      { type: 'mention', id: 4, name: '张伟' },
      { type: 'text', text: ' 的报价，@李四 不是提及' },
    ])
    expect(parseMentions('')).toEqual([])
  })

  it('lists the mentioned ids once each', () => {
    expect(mentionedIds(`${body} @[李娜](user:3)`)).toEqual([3, 4])
  })

  it('decodes back to the typed form, and encoding that gives the body again', () => {
    const { text, picked } = decodeMentions(body)
    expect(text).toBe('@李娜 客户要 @张伟 的报价，@李四 不是提及')
    expect(picked).toEqual([
      { id: 3, name: '李娜' },
      { id: 4, name: '张伟' },
    ])
    expect(encodeMentions(text, picked)).toBe(body)
  })
})
