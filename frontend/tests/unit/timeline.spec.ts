import { beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import ElementPlus from 'element-plus'
import type { TimelineEntry } from '@/api/types'
import { i18n } from '@/i18n'
import TimelineItem from '@/modules/activities/TimelineItem.vue'
import TimelineChunk from '@/modules/activities/TimelineChunk.vue'
import { TIMELINE_ACTIONS, type TimelineActions } from '@/modules/activities/actions'
import { channelLook, entryVariant, kindsParam } from '@/modules/activities/timeline'
import { setUserTimezone } from '@/utils/format'

const AT = '2026-11-23T02:30:00Z' // 10:30 in Shanghai

function entry(over: Partial<TimelineEntry>): TimelineEntry {
  return {
    id: 1,
    at: AT,
    kind: 'field_change',
    event: 'customer.updated',
    actor_id: 1,
    actor_name: '王建国',
    title: '',
    summary: null,
    link: null,
    record_type: 'customer',
    record_id: 5,
    restricted: false,
    payload: {},
    ...over,
  }
}

const interaction = {
  id: 7,
  customer_id: 5,
  customer_name: '星河',
  contact_ids: [3],
  contacts: [{ id: 3, name: '陈建平' }],
  channel: 'visit',
  channel_label: '拜访',
  direction: 'outbound',
  occurred_at: '2026-11-20T06:00:00Z',
  duration_minutes: 90,
  user_id: 1,
  user_name: '王建国',
  subject: '上门演示',
  summary: '现场演示了会议屏',
  outcome: '同意试用两周',
  next_step: '安排送货',
  next_step_at: '2026-11-25T02:00:00Z',
  attachments: [
    { id: 1, interaction_id: 7, filename: '方案.pdf', content_type: 'application/pdf', size: 2048, sha256: 'x', created_at: AT, created_by: 1, url: '/api/v1/interactions/7/attachments/1' },
  ],
  version: 1,
  created_at: AT,
  updated_at: AT,
  created_by: 1,
  deleted_at: null,
}

const task = {
  id: 9,
  title: '发送报价单',
  description: null,
  due_at: '2026-11-20T02:00:00Z',
  assignee_id: 1,
  assignee_name: '王建国',
  team_id: null,
  customer_id: 5,
  customer_name: '星河',
  related_type: null,
  related_id: null,
  priority: 'urgent',
  status: 'open',
  completed_at: null,
  remind_before_minutes: 60,
  remind_at: null,
  reminded_at: null,
  repeat: 'weekly',
  previous_id: null,
  overdue: true,
  version: 1,
  created_at: AT,
  updated_at: AT,
  created_by: 1,
  deleted_at: null,
}

let actions: TimelineActions

function render(e: TimelineEntry) {
  return mount(TimelineItem, {
    props: { entry: e },
    global: { plugins: [i18n, ElementPlus], provide: { [TIMELINE_ACTIONS as symbol]: actions } },
  })
}

beforeEach(() => {
  setActivePinia(createPinia())
  i18n.global.locale.value = 'zh-CN'
  setUserTimezone('Asia/Shanghai')
  vi.useFakeTimers({ now: new Date('2026-11-23T04:00:00Z'), toFake: ['Date'] })
  actions = {
    openTask: vi.fn(),
    completeTask: vi.fn(async () => undefined),
    deleteNote: vi.fn(async () => undefined),
    editInteraction: vi.fn(),
    deleteInteraction: vi.fn(async () => undefined),
    canEditInteraction: () => true,
    canDeleteInteraction: () => true,
    canEditTask: () => true,
  }
})

describe('timeline filters', () => {
  it('sends kinds and group names for the chosen chips, nothing for all', () => {
    expect(kindsParam([])).toBeUndefined()
    expect(kindsParam(['interaction'])).toBe('interaction')
    expect(kindsParam(['lifecycle', 'note'])).toBe('note,stage,grade')
    expect(kindsParam(['changes'])).toBe('change,contact,created,deleted,restored')
  })

  it('knows every built-in kind and falls back for new modules', () => {
    const kinds: Record<string, string> = {
      interaction: 'interaction', attachment: 'attachment', task_created: 'task', task_done: 'task', task_change: 'task',
      note: 'note', stage_change: 'stage', grade_change: 'grade', owner_change: 'owner', field_change: 'fields',
      contact: 'contact', created: 'created', deleted: 'lifecycle', restored: 'lifecycle', note_deleted: 'removed',
      interaction_deleted: 'removed', order: 'other',
    }
    for (const [kind, variant] of Object.entries(kinds)) expect(entryVariant({ kind, restricted: false })).toBe(variant)
    expect(entryVariant({ kind: 'interaction', restricted: true })).toBe('restricted')
    expect(channelLook('wechat').color).not.toBe(channelLook('phone').color)
    expect(channelLook('my_custom_channel')).toEqual(channelLook(undefined))
  })
})

describe('timeline entries', () => {
  it('shows an interaction: channel, subject, summary, outcome, next step, contacts and attachments', () => {
    const w = render(entry({ kind: 'interaction', event: 'interaction.created', record_type: 'interaction', record_id: 7, title: '拜访 · 上门演示', payload: { interaction } }))
    expect(w.get('[data-testid="timeline-entry"]').attributes('data-kind')).toBe('interaction')
    expect(w.get('[data-testid="timeline-title"]').text()).toBe('记录了客户沟通')
    expect(w.get('[data-testid="timeline-channel"]').text()).toBe('拜访')
    expect(w.get('[data-testid="timeline-subject"]').text()).toBe('上门演示')
    expect(w.get('[data-testid="timeline-summary"]').text()).toBe('现场演示了会议屏')
    expect(w.get('[data-testid="timeline-outcome"]').text()).toContain('同意试用两周')
    expect(w.get('[data-testid="timeline-next-step"]').text()).toContain('安排送货')
    expect(w.get('[data-testid="timeline-next-step"]').text()).toContain('2026-11-25 10:00')
    expect(w.get('[data-testid="timeline-contacts"]').text()).toContain('陈建平')
    expect(w.text()).toContain('沟通于 2026-11-20 14:00') // logged three days after it happened
    expect(w.text()).toContain('90 分钟')
    const att = w.get('[data-testid="timeline-attachment"]')
    expect(att.attributes('href')).toBe('/api/v1/interactions/7/attachments/1')
    expect(att.text()).toContain('方案.pdf')
    expect(att.text()).toContain('2 KB')
    expect(w.get('time').text()).toBe('10:30')
  })

  it('shows a task with its due state, and completes it with one click', async () => {
    const w = render(entry({ kind: 'task_created', event: 'task.created', record_type: 'task', record_id: 9, title: '新建待办：发送报价单', payload: { task } }))
    expect(w.get('[data-testid="timeline-title"]').text()).toBe('新建了待办')
    expect(w.get('[data-testid="timeline-task-title"]').text()).toBe('发送报价单')
    expect(w.text()).toContain('已逾期 3 天')
    expect(w.text()).toContain('紧急')
    expect(w.text()).toContain('每周')
    await w.get('[data-testid="timeline-task-complete"]').trigger('click')
    expect(actions.completeTask).toHaveBeenCalledWith(task)
  })

  it('shows a done task as done, without a complete button', () => {
    const done = { ...task, status: 'done', completed_at: AT }
    const w = render(entry({ kind: 'task_done', event: 'task.completed', record_type: 'task', record_id: 9, payload: { task: done } }))
    expect(w.get('[data-testid="timeline-title"]').text()).toBe('完成了待办')
    expect(w.get('[data-testid="timeline-task-status"]').text()).toBe('已完成')
    expect(w.find('[data-testid="timeline-task-complete"]').exists()).toBe(false)
  })

  it('shows a note with its mentions highlighted', () => {
    const note = { id: 2, customer_id: 5, body: '@[李娜](user:3) 请看报价', mentions: [3], mentioned: [{ id: 3, name: '李娜' }], author_id: 1, author_name: '王建国', can_edit: true, version: 1, created_at: AT, updated_at: AT, deleted_at: null }
    const w = render(entry({ kind: 'note', event: 'note.created', record_type: 'note', record_id: 2, title: '添加了备注', payload: { note } }))
    expect(w.get('[data-testid="timeline-note-body"]').text()).toBe('@李娜 请看报价')
    const mention = w.get('[data-testid="timeline-mention"]')
    expect(mention.text()).toBe('@李娜')
    expect(mention.attributes('data-user-id')).toBe('3')
    expect(w.find('[data-testid="timeline-entry-menu"]').exists()).toBe(true) // the author may delete it
  })

  it('shows a stage move as old → new, with the other fields of the same save', () => {
    const w = render(entry({
      kind: 'stage_change',
      title: '生命周期阶段：潜在客户 → 首次购买',
      payload: { changes: [{ field: 'stage', old: 'potential', new: 'first_purchase' }, { field: 'city', old: '苏州市', new: '杭州市' }] },
    }))
    expect(w.get('[data-testid="timeline-title"]').text()).toBe('生命周期阶段：潜在客户 → 首次购买')
    const rows = w.findAll('[data-testid="timeline-change"]')
    expect(rows[0].text()).toContain('潜在客户')
    expect(rows[0].text()).toContain('首次购买')
    expect(rows[1].text()).toContain('城市')
    expect(rows[1].text()).toContain('苏州市')
    expect(rows[1].text()).toContain('杭州市')
  })

  it('shows field changes with old and new values', () => {
    const w = render(entry({ kind: 'field_change', title: '修改了城市、标签', payload: { changes: [{ field: 'city', old: '苏州市', new: '杭州市' }, { field: 'tags', old: [], new: ['VIP', '重点'] }] } }))
    const rows = w.findAll('[data-testid="timeline-change"]').map((r) => r.text())
    expect(rows[0]).toMatch(/城市\s*苏州市\s*→\s*杭州市/)
    expect(rows[1]).toMatch(/标签\s*空\s*→\s*VIP、重点/)
  })

  it('shows a created customer with its key fields', () => {
    const w = render(entry({ kind: 'created', event: 'customer.created', title: '创建了客户', payload: { changes: [{ field: 'stage', new: 'potential' }, { field: 'notes', new: '很长的备注' }, { field: 'kind', new: 'company' }] } }))
    const rows = w.findAll('[data-testid="timeline-change"]').map((r) => r.text())
    expect(rows).toEqual(['客户类型企业客户', '生命周期阶段潜在客户'])
  })

  it('shows a deleted or hidden record without its data', () => {
    const w = render(entry({ kind: 'interaction', event: 'interaction.created', record_type: 'interaction', record_id: 7, title: '这条沟通记录已删除或无权查看', restricted: true }))
    expect(w.get('[data-testid="timeline-title"]').text()).toBe('这条沟通记录已删除或无权查看')
    expect(w.find('[data-testid="timeline-summary"]').exists()).toBe(false)
    expect(w.find('[data-testid="timeline-entry-menu"]').exists()).toBe(false)
  })

  it('shows what an unknown module says, plainly', () => {
    const w = render(entry({ kind: 'order', event: 'order.created', record_type: 'order', title: 'order created' }))
    expect(w.get('[data-testid="timeline-title"]').text()).toBe('order created')
  })
})

describe('timeline pages', () => {
  it('puts a day heading where the day changes, also across pages', () => {
    const e1 = entry({ id: 3, at: '2026-11-23T03:00:00Z', title: 'a' })
    const e2 = entry({ id: 2, at: '2026-11-22T03:00:00Z', title: 'b' })
    const e3 = entry({ id: 1, at: '2026-11-22T01:00:00Z', title: 'c' })
    const mk = (entries: TimelineEntry[], prevAt: string | null) =>
      mount(TimelineChunk, { props: { entries, prevAt }, global: { plugins: [i18n, ElementPlus], provide: { [TIMELINE_ACTIONS as symbol]: actions } } })
    expect(mk([e1, e2, e3], null).findAll('[data-testid="timeline-day"]').map((d) => d.text())).toEqual(['今天', '昨天'])
    // The next page starts on the day the previous one ended: no heading again.
    expect(mk([e3], e2.at).findAll('[data-testid="timeline-day"]')).toHaveLength(0)
  })
})
