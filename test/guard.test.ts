/** Guard set-up checks shared by the adapters and the decorators. */
import { describe, expect, it } from 'vitest'
import { requiredScopeList } from 'bearer-guard'
import * as express from 'bearer-guard/express'
import * as koa from 'bearer-guard/koa'

type LooseScopeGuard = (...scopes: unknown[]) => unknown

describe('scope guards refuse to require nothing', () => {
  it.each([[[]], [['']], [['read', '']], [[42]]])('requiredScopeList(%j) throws a TypeError', (scopes) => {
    expect(() => requiredScopeList(scopes)).toThrow(TypeError)
  })

  it('keeps a valid list', () => {
    expect(requiredScopeList(['read', 'write'])).toEqual(['read', 'write'])
  })

  it.each([
    ['express requireScopes', express.requireScopes],
    ['express requireAnyScope', express.requireAnyScope],
    ['koa requireScopes', koa.requireScopes],
    ['koa requireAnyScope', koa.requireAnyScope],
  ])('%s() called from JavaScript without scopes throws at set-up', (_name, guard) => {
    expect(() => (guard as LooseScopeGuard)()).toThrow(TypeError)
    expect(() => (guard as LooseScopeGuard)('')).toThrow(TypeError)
  })
})
