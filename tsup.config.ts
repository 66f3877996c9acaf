import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    express: 'adapters/express.ts',
    koa: 'adapters/koa.ts',
    fastify: 'adapters/fastify.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  treeshake: true,
  // Adapters import the core by its package name, so all entry points share one copy of it
  // (one set of error classes, so `instanceof` holds across them).
  external: ['bearer-guard', 'express', 'koa', 'fastify', 'fastify-plugin'],
})
