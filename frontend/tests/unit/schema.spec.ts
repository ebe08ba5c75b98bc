// @vitest-environment node
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import openapiTS, { astToString } from 'openapi-typescript'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe('generated API types', () => {
  it('src/api/schema.d.ts is what `npm run gen` makes from openapi.json', async () => {
    const spec = JSON.parse(readFileSync(`${root}openapi.json`, 'utf8'))
    const expected = astToString(await openapiTS(spec))
    const actual = readFileSync(`${root}src/api/schema.d.ts`, 'utf8')
    // `npm run gen` adds a fixed "auto-generated" comment above the types
    const body = actual.replace(/^\/\*\*[\s\S]*?\*\/\s*/, '')
    expect(body === expected, 'schema.d.ts is stale: run `npm run gen`').toBe(true)
  }, 60_000)
})
