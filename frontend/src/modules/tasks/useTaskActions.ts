import { useI18n } from 'vue-i18n'
import { ElMessage } from 'element-plus'
import { api, unwrap } from '@/api/client'
import type { Task, TaskCompleted } from '@/api/types'
import { notifyError, notifySuccess } from '@/composables/useNotify'
import { formatDateTime } from '@/utils/format'

/** Complete and reopen, with the messages people expect (and the next date of a repeating task). */
export function useTaskActions() {
  const { t } = useI18n()

  async function complete(task: Task): Promise<TaskCompleted | null> {
    try {
      const done = await unwrap(api.POST('/api/v1/tasks/{task_id}/complete', { params: { path: { task_id: task.id } } }))
      if (done.next) {
        ElMessage({
          type: 'success',
          message: t('tasks.completedNext', { title: task.title, due: formatDateTime(done.next.due_at) }),
          grouping: true,
          duration: 4000,
        })
      } else notifySuccess(t('tasks.completed', { title: task.title }))
      return done
    } catch (e) {
      notifyError(e)
      return null
    }
  }

  async function reopen(task: Task): Promise<Task | null> {
    try {
      const open = await unwrap(api.POST('/api/v1/tasks/{task_id}/reopen', { params: { path: { task_id: task.id } } }))
      notifySuccess(t('tasks.reopened'))
      return open
    } catch (e) {
      notifyError(e)
      return null
    }
  }

  return { complete, reopen }
}
