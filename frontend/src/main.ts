import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import './styles.css'
import App from './App.vue'
import { i18n, currentLanguage } from './i18n'
import { router } from './router'
import { setLanguageGetter, setUnauthorizedHandler } from './api/client'
import { useAuthStore } from './stores/auth'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(i18n)
app.use(ElementPlus)
app.use(router)

setLanguageGetter(() => currentLanguage())
setUnauthorizedHandler(() => {
  const auth = useAuthStore(pinia)
  // Before the first /me answer the router guard sends people to the login page itself.
  if (!auth.me) return
  auth.clear()
  const current = router.currentRoute.value
  if (current.name !== 'login') {
    router.replace({ name: 'login', query: { redirect: current.fullPath, expired: '1' } })
  }
})

app.mount('#app')
