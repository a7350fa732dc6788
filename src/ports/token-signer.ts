/** Signs and verifies the registry's bearer tokens (JWT); keys stay inside the adapter. */
export interface TokenSigner {
  sign(claims: Record<string, unknown>, opts: { expiresInSeconds: number; audience: string; issuer: string }): Promise<string>;
  /** the verified claims, or undefined for a bad, expired or foreign token */
  verify(token: string, opts: { audience: string; issuer: string }): Promise<Record<string, unknown> | undefined>;
}
