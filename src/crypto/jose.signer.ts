import { generateKeyPairSync, type JsonWebKey, type KeyObject, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import type { TokenSigner } from '../ports/token-signer.js';

/** ES256 tokens; the key pair is made on first start and kept (mode 0600) at `keyFile`. */
export async function loadEs256Signer(keyFile: string): Promise<TokenSigner> {
  const { privateKey, publicKey, kid } = await loadOrCreateKey(keyFile);
  return {
    async sign(claims, { expiresInSeconds, audience, issuer }) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(now)
        .setNotBefore(now - 5)
        .setExpirationTime(now + expiresInSeconds)
        .sign(privateKey);
    },
    async verify(token, { audience, issuer }) {
      try {
        const { payload } = await jwtVerify(token, publicKey, { algorithms: ['ES256'], audience, issuer, clockTolerance: 5 });
        return payload as Record<string, unknown>;
      } catch {
        return undefined;
      }
    },
  };
}

async function loadOrCreateKey(keyFile: string): Promise<{ privateKey: KeyObject; publicKey: KeyObject; kid: string }> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(keyFile, 'utf8')) as JWK;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the token signing key ${keyFile}: ${(e as Error).message}`, { cause: e });
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    jwk = await exportJWK(pair.privateKey);
    await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
    const tmp = `${keyFile}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(jwk), { mode: 0o600, flag: 'wx' });
    await rename(tmp, keyFile);
    // a concurrent first start may have won the rename: read back whatever is there now
    jwk = JSON.parse(await readFile(keyFile, 'utf8')) as JWK;
  }
  const privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  const { d: _d, ...pub } = jwk;
  const kid = await calculateJwkThumbprint(pub);
  return { privateKey, publicKey, kid };
}
