import type { InjectionKey } from 'vue'
import type { Interaction, Note, Task } from '@/api/types'

/** What timeline entries can ask the customer page to do (provided once, not passed through every page). */
export interface TimelineActions {
  openTask: (task: Task) => void
  completeTask: (task: Task) => Promise<void>
  deleteNote: (note: Note) => Promise<void>
  editInteraction: (interaction: Interaction) => void
  deleteInteraction: (interaction: Interaction) => Promise<void>
  canEditInteraction: () => boolean
  canDeleteInteraction: () => boolean
  canEditTask: () => boolean
}

export const TIMELINE_ACTIONS: InjectionKey<TimelineActions> = Symbol('timeline-actions')
