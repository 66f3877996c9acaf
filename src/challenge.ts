/** Parameters of a Bearer `WWW-Authenticate` challenge (RFC 6750 §3). */
export interface ChallengeParams {
  realm?: string | undefined
  error?: string | undefined
  errorDescription?: string | undefined
  scope?: string | undefined
}

// RFC 6750 §3: error and error_description are %x20-21 / %x23-5B / %x5D-7E, and so is a
// space-separated list of scope tokens (%x21 / %x23-5B / %x5D-7E each).
const NOT_ATTRIBUTE_CHAR = /[^\x20\x21\x23-\x5B\x5D-\x7E]/g
// realm is a quoted-string (RFC 9110 §5.6.4): escape backslash and double quote, keep printable
// ASCII only. Controls are not allowed, and a character above U+00FF makes Node's `setHeader` and
// Fetch `Headers` throw, which would turn every challenge into a server error.
const NOT_REALM_CHAR = /[^\x20-\x7E]/g

function quoteRealm(value: string): string {
  return `"${value.replace(NOT_REALM_CHAR, '').replace(/[\\"]/g, '\\$&')}"`
}

/**
 * Builds a `WWW-Authenticate: Bearer …` header value. Attribute values are restricted to the
 * characters RFC 6750 allows, so nothing a client sent can break the header.
 */
export function buildChallenge(params: ChallengeParams): string {
  const parts: string[] = []
  if (params.realm !== undefined) parts.push(`realm=${quoteRealm(params.realm)}`)
  if (params.error !== undefined) parts.push(`error="${params.error.replace(NOT_ATTRIBUTE_CHAR, '')}"`)
  if (params.errorDescription !== undefined) {
    parts.push(`error_description="${params.errorDescription.replace(NOT_ATTRIBUTE_CHAR, '')}"`)
  }
  if (params.scope !== undefined) parts.push(`scope="${params.scope.replace(NOT_ATTRIBUTE_CHAR, '')}"`)
  return parts.length === 0 ? 'Bearer' : `Bearer ${parts.join(', ')}`
}
