import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  resolve: {
    // The same mapping as tsconfig "paths": tests and examples import the public package names.
    alias: [
      { find: /^bearer-guard\/(express|koa|fastify)$/, replacement: here('./adapters/$1.ts') },
      { find: /^bearer-guard$/, replacement: here('./src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 15_000,
    pool: 'forks',
  },
})
