import createClient, { type Middleware } from 'openapi-fetch'
import type { paths } from './schema'

/** One field error of an RFC 9457 problem, e.g. {field: "phones.0", code: "invalid_phone"}. */
export interface FieldError {
  field: string
  code: string
  message: string
}

/** A failed API call, parsed from `application/problem+json` (or synthesised when the body is not one). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly title: string
  readonly detail: string
  readonly errors: FieldError[]
  /** Seconds to wait, for 429 login_throttled (body `retry_after` or the `Retry-After` header). */
  readonly retryAfter: number | null

  constructor(init: {
    status: number
    code: string
    title?: string
    detail?: string
    errors?: FieldError[]
    retryAfter?: number | null
  }) {
    super(init.detail || init.title || init.code)
    this.name = 'ApiError'
    this.status = init.status
    this.code = init.code
    this.title = init.title ?? ''
    this.detail = init.detail ?? ''
    this.errors = init.errors ?? []
    this.retryAfter = init.retryAfter ?? null
  }

  /** The best single line to show a person. */
  get userMessage(): string {
    return this.detail || this.title || this.code
  }
}

const FALLBACK_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'not_authenticated',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  412: 'precondition_failed',
  413: 'payload_too_large',
  422: 'validation_failed',
  428: 'precondition_required',
  429: 'too_many_requests',
}

function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function parseFieldErrors(raw: unknown): FieldError[] {
  if (!Array.isArray(raw)) return []
  const out: FieldError[] = []
  for (const item of raw) {
    if (!item || typeof item !== 'object') continue
    const e = item as Record<string, unknown>
    // Tolerate FastAPI's own {loc, msg, type} shape as well as ours.
    let field = asString(e.field)
    if (field === undefined && Array.isArray(e.loc)) {
      const loc = (e.loc as unknown[]).filter((p) => p !== 'body')
      field = loc.map(String).join('.')
    }
    out.push({
      field: field ?? '',
      code: asString(e.code) ?? asString(e.type) ?? 'invalid',
      message: asString(e.message) ?? asString(e.msg) ?? '',
    })
  }
  return out
}

/** Turn a failed response (and its already-read body, if any) into an ApiError. */
export function problemFromBody(response: Pick<Response, 'status' | 'statusText' | 'headers'>, body: unknown): ApiError {
  const status = response.status
  const header = response.headers.get('Retry-After')
  const headerRetry = header !== null && /^\d+$/.test(header.trim()) ? Number(header.trim()) : null
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const p = body as Record<string, unknown>
    const retry = typeof p.retry_after === 'number' ? p.retry_after : headerRetry
    return new ApiError({
      status: typeof p.status === 'number' ? p.status : status,
      code: asString(p.code) ?? FALLBACK_CODES[status] ?? `http_${status}`,
      title: asString(p.title) ?? response.statusText,
      detail: asString(p.detail) ?? (typeof p.detail === 'object' ? '' : undefined),
      errors: parseFieldErrors(p.errors ?? (Array.isArray(p.detail) ? p.detail : undefined)),
      retryAfter: retry,
    })
  }
  return new ApiError({
    status,
    code: FALLBACK_CODES[status] ?? (status === 0 ? 'network_error' : `http_${status}`),
    title: response.statusText,
    detail: typeof body === 'string' && body.length < 300 ? body : '',
    retryAfter: headerRetry,
  })
}

/** Read and parse a failed fetch Response. */
export async function parseProblem(response: Response): Promise<ApiError> {
  let body: unknown = undefined
  try {
    const text = await response.text()
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = undefined
  }
  return problemFromBody(response, body)
}

export function readCookie(name: string, cookies: string = typeof document !== 'undefined' ? document.cookie : ''): string | null {
  for (const part of cookies.split(';')) {
    const i = part.indexOf('=')
    if (i < 0) continue
    if (part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim())
  }
  return null
}

export const CSRF_COOKIE = 'guanxi_csrf'
export const CSRF_HEADER = 'X-CSRF-Token'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export interface ApiClientOptions {
  baseUrl?: string
  fetch?: (input: Request) => Promise<Response>
  /** Where the CSRF cookie is read from (tests pass a function). */
  cookies?: () => string
  /** Language for messages before login (Accept-Language). */
  language?: () => string | null
  /** Called on 401 from any request but the login itself. */
  onUnauthorized?: (error: ApiError) => void
}

let unauthorizedHandler: ((e: ApiError) => void) | null = null
let languageGetter: (() => string | null) | null = null

/** Register what the app does when the session is gone (go to the login page). */
export function setUnauthorizedHandler(fn: ((e: ApiError) => void) | null): void {
  unauthorizedHandler = fn
}
export function setLanguageGetter(fn: (() => string | null) | null): void {
  languageGetter = fn
}

export function createApiClient(options: ApiClientOptions = {}) {
  const client = createClient<paths>({
    baseUrl: options.baseUrl ?? '',
    credentials: 'include',
    ...(options.fetch ? { fetch: options.fetch } : {}),
  })
  const middleware: Middleware = {
    onRequest({ request }) {
      if (!SAFE_METHODS.has(request.method.toUpperCase())) {
        const token = readCookie(CSRF_COOKIE, options.cookies ? options.cookies() : undefined)
        if (token) request.headers.set(CSRF_HEADER, token)
      }
      const lang = (options.language ?? languageGetter)?.()
      if (lang && !request.headers.has('Accept-Language')) request.headers.set('Accept-Language', lang)
      return request
    },
    async onResponse({ request, response }) {
      if (response.status === 401 && !new URL(request.url, 'http://x').pathname.endsWith('/auth/login')) {
        const err = await parseProblem(response.clone())
        ;(options.onUnauthorized ?? unauthorizedHandler)?.(err)
      }
      return response
    },
  }
  client.use(middleware)
  return client
}

export type ApiClient = ReturnType<typeof createApiClient>

/** The app's client: same origin, cookie session. */
export const api = createApiClient()

interface FetchResult<T> {
  data?: T
  error?: unknown
  response: Response
}

/** Await an openapi-fetch call and return its data, or throw an ApiError. */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>
  try {
    result = await call
  } catch (e) {
    if (e instanceof ApiError) throw e
    throw new ApiError({ status: 0, code: 'network_error', detail: e instanceof Error ? e.message : String(e) })
  }
  const { data, error, response } = result
  if (!response.ok || error !== undefined) throw problemFromBody(response, error)
  return data as T
}

/** A random UUID, also where crypto.randomUUID is missing (plain-HTTP LAN addresses). */
export function uuid(): string {
  const c = globalThis.crypto
  if (c && typeof c.randomUUID === 'function') {
    try {
      return c.randomUUID()
    } catch {
      /* insecure context */
    }
  }
  const b = new Uint8Array(16)
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(b)
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256)
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** If-Match value for a record version. */
export function ifMatch(version: number | string): string {
  return `"${version}"`
}
