export { createVerifier } from './verifier.js'
export type { JwtHeader, JwtPayload, Verifier, VerifiedToken, VerifyOptions } from './verifier.js'
export type { JsonWebKeySet, TokenLocation, VerifierOptions } from './options.js'
export type { Algorithm, AsymmetricAlgorithm, SymmetricAlgorithm } from './algorithms.js'
export { DEFAULT_ALGORITHMS } from './algorithms.js'
export {
  BearerError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  isBearerError,
} from './errors.js'
export type { BearerErrorCode, ErrorCode, InvalidTokenCode } from './errors.js'
export { extractToken } from './extract.js'
export type { HeadersLike, RequestLike } from './extract.js'
export { assertScopes, grantedScopes } from './scopes.js'
export type { ScopeMatch } from './scopes.js'
export { buildChallenge } from './challenge.js'
export type { ChallengeParams } from './challenge.js'
export type { FetchFunction } from './http.js'
export { authenticateRequest, checkScopes, requiredScopeList, toVerifier } from './guard.js'
export type { GuardOptions, VerifierOrOptions } from './guard.js'
export { RequireAnyScope, RequireScopes } from './decorator.js'
export type { AuthCarrier, ScopeDecorator } from './decorator.js'
