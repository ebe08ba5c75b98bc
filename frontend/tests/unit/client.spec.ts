import { describe, expect, it, vi } from 'vitest'
import { ApiError, createApiClient, ifMatch, parseProblem, problemFromBody, readCookie, unwrap, uuid } from '@/api/client'

function recorder(response: () => Response) {
  const requests: Request[] = []
  const fetch = vi.fn(async (req: Request) => {
    requests.push(req)
    return response()
  })
  return { fetch, requests }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } })
const problem = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/problem+json', ...headers } })

describe('readCookie', () => {
  it('finds a cookie among others and decodes it', () => {
    expect(readCookie('guanxi_csrf', 'a=1; guanxi_csrf=abc%3D%3D; b=2')).toBe('abc==')
    expect(readCookie('guanxi_csrf', 'guanxi_csrf_old=x')).toBeNull()
    expect(readCookie('x', '')).toBeNull()
  })
})

describe('CSRF header', () => {
  it('is sent on non-GET requests from the guanxi_csrf cookie', async () => {
    const { fetch, requests } = recorder(() => json(200, { items: [] }))
    const client = createApiClient({ baseUrl: 'http://test', fetch, cookies: () => 'guanxi_session=s; guanxi_csrf=tok123' })
    await client.POST('/api/v1/customers/check-duplicates', { body: { phones: ['13800138000'], emails: [] } })
    await client.PATCH('/api/v1/me', { body: { language: 'en' } })
    await client.DELETE('/api/v1/customers/{customer_id}', { params: { path: { customer_id: 1 } } })
    expect(requests.map((r) => r.headers.get('X-CSRF-Token'))).toEqual(['tok123', 'tok123', 'tok123'])
  })

  it('is not sent on GET', async () => {
    const { fetch, requests } = recorder(() => json(200, { items: [], next_cursor: null, total: 0, total_capped: false }))
    const client = createApiClient({ baseUrl: 'http://test', fetch, cookies: () => 'guanxi_csrf=tok123' })
    await client.GET('/api/v1/customers', { params: { query: { limit: 20 } } })
    expect(requests[0].headers.get('X-CSRF-Token')).toBeNull()
  })

  it('is left out when there is no cookie (before login)', async () => {
    const { fetch, requests } = recorder(() => json(200, {}))
    const client = createApiClient({ baseUrl: 'http://test', fetch, cookies: () => '' })
    await client.POST('/api/v1/auth/login', { body: { login: 'a', password: 'b' } })
    expect(requests[0].headers.has('X-CSRF-Token')).toBe(false)
  })

  it('sends the interface language and cookies', async () => {
    const { fetch, requests } = recorder(() => json(200, {}))
    const client = createApiClient({ baseUrl: 'http://test', fetch, cookies: () => '', language: () => 'en' })
    await client.GET('/api/v1/me')
    expect(requests[0].headers.get('Accept-Language')).toBe('en')
    expect(requests[0].credentials).toBe('include')
  })

  it('repeats `filter` for each filter', async () => {
    const { fetch, requests } = recorder(() => json(200, { items: [], next_cursor: null, total: 0, total_capped: false }))
    const client = createApiClient({ baseUrl: 'http://test', fetch })
    await client.GET('/api/v1/customers', { params: { query: { filter: ['stage:eq:loyal', 'grade:in:A,B'] } } })
    const url = new URL(requests[0].url)
    expect(url.searchParams.getAll('filter')).toEqual(['stage:eq:loyal', 'grade:in:A,B'])
  })
})

describe('problem+json parsing', () => {
  it('parses code, detail and field errors', async () => {
    const err = await parseProblem(
      problem(422, {
        type: 'about:blank',
        title: '校验失败',
        status: 422,
        code: 'validation_failed',
        detail: '有 1 个字段无效',
        errors: [{ field: 'phones.0', code: 'invalid_phone', message: '不是有效的电话号码' }],
      }),
    )
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(422)
    expect(err.code).toBe('validation_failed')
    expect(err.detail).toBe('有 1 个字段无效')
    expect(err.title).toBe('校验失败')
    expect(err.errors).toEqual([{ field: 'phones.0', code: 'invalid_phone', message: '不是有效的电话号码' }])
    expect(err.userMessage).toBe('有 1 个字段无效')
  })

  it('reads retry_after from the body, or else the Retry-After header', async () => {
    const a = await parseProblem(problem(429, { status: 429, code: 'login_throttled', title: 'x', retry_after: 42 }))
    expect(a.retryAfter).toBe(42)
    const b = await parseProblem(problem(429, { status: 429, code: 'login_throttled', title: 'x' }, { 'Retry-After': '17' }))
    expect(b.retryAfter).toBe(17)
  })

  it('survives bodies that are not problems', async () => {
    const html = await parseProblem(new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }))
    expect(html.status).toBe(502)
    expect(html.code).toBe('http_502')
    const empty = await parseProblem(new Response(null, { status: 404 }))
    expect(empty.code).toBe('not_found')
    expect(empty.errors).toEqual([])
  })

  it("accepts FastAPI's own {loc, msg, type} validation shape", () => {
    const err = problemFromBody(new Response(null, { status: 422 }), {
      detail: [{ loc: ['body', 'phones', 0], msg: 'bad', type: 'value_error' }],
    })
    expect(err.errors).toEqual([{ field: 'phones.0', code: 'value_error', message: 'bad' }])
  })
})

describe('unwrap', () => {
  it('returns data on success and throws ApiError on failure', async () => {
    const ok = recorder(() => json(200, { id: 'u1' }))
    const client = createApiClient({ baseUrl: 'http://test', fetch: ok.fetch })
    await expect(unwrap(client.GET('/api/v1/me'))).resolves.toEqual({ id: 'u1' })

    const bad = recorder(() => problem(412, { status: 412, code: 'precondition_failed', title: 'stale', detail: '已被修改' }))
    const client2 = createApiClient({ baseUrl: 'http://test', fetch: bad.fetch })
    const err = await unwrap(
      client2.PATCH('/api/v1/customers/{customer_id}', {
        params: { path: { customer_id: 1 } },
        body: { name: 'x' },
        headers: { 'If-Match': ifMatch(3) },
      }),
    ).catch((e) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('precondition_failed')
    expect(bad.requests[0].headers.get('If-Match')).toBe('"3"')
  })

  it('turns a network failure into ApiError status 0', async () => {
    const client = createApiClient({
      baseUrl: 'http://test',
      fetch: async () => {
        throw new TypeError('Failed to fetch')
      },
    })
    const err = await unwrap(client.GET('/api/v1/me')).catch((e) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(0)
    expect(err.code).toBe('network_error')
  })

  it('calls the unauthorized handler on 401, except for the login itself', async () => {
    const onUnauthorized = vi.fn()
    const { fetch } = recorder(() => problem(401, { status: 401, code: 'session_expired', title: 'x' }))
    const client = createApiClient({ baseUrl: 'http://test', fetch, onUnauthorized })
    await unwrap(client.GET('/api/v1/me')).catch(() => undefined)
    expect(onUnauthorized).toHaveBeenCalledTimes(1)
    expect(onUnauthorized.mock.calls[0][0].code).toBe('session_expired')
    await unwrap(client.POST('/api/v1/auth/login', { body: { login: 'a', password: 'b' } })).catch(() => undefined)
    expect(onUnauthorized).toHaveBeenCalledTimes(1)
  })
})

describe('uuid', () => {
  it('makes v4 uuids, different each time', () => {
    const a = uuid()
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(uuid()).not.toBe(a)
  })
})
