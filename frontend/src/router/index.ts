import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { useAuthStore } from '@/stores/auth'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    admin?: boolean
    title?: string
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('@/modules/auth/LoginPage.vue'), meta: { public: true } },
  {
    path: '/',
    component: () => import('@/components/AppShell.vue'),
    children: [
      { path: '', redirect: { name: 'customers' } },
      { path: 'customers', name: 'customers', component: () => import('@/modules/customers/CustomerList.vue') },
      { path: 'customers/:id', name: 'customer', component: () => import('@/modules/customers/CustomerPage.vue'), props: true },
      // Links the timeline and notifications hand out for records of a customer: its page, that entry highlighted.
      {
        path: 'customers/:id/:kind(interactions|notes)/:recordId',
        redirect: (to) => ({
          name: 'customer',
          params: { id: to.params.id },
          query: { focus: `${String(to.params.kind).replace(/s$/, '')}:${String(to.params.recordId)}` },
        }),
      },
      { path: 'my-work', name: 'my-work', component: () => import('@/modules/tasks/MyWorkPage.vue') },
      { path: 'tasks/:taskId', name: 'task', component: () => import('@/modules/tasks/MyWorkPage.vue'), props: true },
      { path: 'import', name: 'import', component: () => import('@/modules/imports/ImportPage.vue') },
      { path: 'import/:id(\\d+)', name: 'import-detail', component: () => import('@/modules/imports/ImportPage.vue'), props: true },
      { path: 'duplicates', name: 'duplicates', component: () => import('@/modules/dedupe/DuplicatesPage.vue') },
      { path: 'recycle-bin', name: 'recycle-bin', component: () => import('@/modules/customers/RecycleBin.vue') },
      { path: 'settings', redirect: { name: 'settings-users' }, meta: { admin: true } },
      { path: 'settings/users', name: 'settings-users', component: () => import('@/modules/settings/UsersPage.vue'), meta: { admin: true } },
      { path: 'settings/teams', name: 'settings-teams', component: () => import('@/modules/settings/TeamsPage.vue'), meta: { admin: true } },
      { path: 'settings/roles', name: 'settings-roles', component: () => import('@/modules/settings/RolesPage.vue'), meta: { admin: true } },
      { path: 'settings/custom-fields', name: 'settings-custom-fields', component: () => import('@/modules/settings/CustomFieldsPage.vue'), meta: { admin: true } },
      { path: 'settings/source-channels', name: 'settings-source-channels', component: () => import('@/modules/settings/SourceChannelsPage.vue'), meta: { admin: true } },
      { path: 'settings/interaction-channels', name: 'settings-interaction-channels', component: () => import('@/modules/settings/InteractionChannelsPage.vue'), meta: { admin: true } },
      { path: 'settings/audit', name: 'settings-audit', component: () => import('@/modules/settings/AuditPage.vue'), meta: { admin: true } },
      { path: 'exports', name: 'exports', component: () => import('@/modules/exports/ExportsPage.vue') },
      { path: 'api-keys', name: 'api-keys', component: () => import('@/modules/profile/ApiKeysPage.vue') },
      { path: 'profile', name: 'profile', component: () => import('@/modules/profile/ProfilePage.vue') },
      { path: ':pathMatch(.*)*', name: 'not-found', component: () => import('@/components/NotFoundPage.vue') },
    ],
  },
]

export const router = createRouter({
  history: createWebHistory('/'),
  routes,
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
})

router.beforeEach(async (to) => {
  const auth = useAuthStore()
  let me = null
  try {
    me = await auth.ensureLoaded()
  } catch {
    // Server unreachable: let the page show its own error instead of looping.
    me = auth.me
  }
  if (to.meta.public) {
    if (me && to.name === 'login') return typeof to.query.redirect === 'string' ? to.query.redirect : { name: 'customers' }
    return true
  }
  if (!me) return { name: 'login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} }
  if (to.matched.some((r) => r.meta.admin) && !me.is_admin) {
    return { name: 'not-found', params: { pathMatch: to.path.slice(1).split('/') } }
  }
  return true
})
