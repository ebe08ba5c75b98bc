import { ElMessage, ElMessageBox } from 'element-plus'
import { ApiError } from '@/api/client'
import { i18n } from '@/i18n'

/** Show an error the way people can read it: the server's message in their language. */
export function errorMessage(e: unknown): string {
  const t = i18n.global.t
  if (e instanceof ApiError) {
    if (e.status === 0) return t('common.networkError')
    if (e.status === 403 && !e.detail) return t('common.forbidden')
    return e.userMessage || t('common.unknownError')
  }
  return t('common.unknownError')
}

export function notifyError(e: unknown): void {
  if (e instanceof ApiError && e.status === 401) return // the app is already going to the login page
  ElMessage({ type: 'error', message: errorMessage(e), grouping: true, showClose: true })
  if (!(e instanceof ApiError)) console.error(e)
}

export function notifySuccess(message: string): void {
  ElMessage({ type: 'success', message, grouping: true })
}

/** True when the user dismissed a confirm box (ElMessageBox rejects with 'cancel' / 'close'). */
export function isCancel(e: unknown): boolean {
  return e === 'cancel' || e === 'close'
}

/**
 * Ask before something that cannot be undone from here (delete, revoke, disable). Resolves true when
 * the user confirms, false when they cancel or close the box.
 */
export async function confirmDanger(message: string, confirmText?: string): Promise<boolean> {
  const t = i18n.global.t
  try {
    await ElMessageBox.confirm(message, t('common.dangerConfirmTitle'), {
      type: 'warning',
      confirmButtonText: confirmText ?? t('common.delete'),
      cancelButtonText: t('common.cancel'),
      confirmButtonClass: 'el-button--danger',
    })
    return true
  } catch {
    return false
  }
}
