import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecretSealer } from '../ports/secret-sealer.js';

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM with a random 96-bit IV per value (NIST SP 800-38D §8.2.2), sealed as
 * `v1.<iv>.<ciphertext>.<tag>` in base64url. The key is made on first start and kept (mode 0600)
 * at `keyFile`, outside the database: a database dump alone gives no secret away. Instances of
 * one cluster must share the file, as they share the token key.
 */
export async function loadAesGcmSealer(keyFile: string): Promise<SecretSealer> {
  const key = await loadOrCreateKey(keyFile);
  return {
    seal(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, iv.toString('base64url'), data.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    open(sealed) {
      const [version, iv, data, tag] = sealed.split('.');
      if (version !== VERSION || iv === undefined || data === undefined || tag === undefined) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}

async function loadOrCreateKey(keyFile: string): Promise<Buffer> {
  let text: string;
  try {
    text = await readFile(keyFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the secret key ${keyFile}: ${(e as Error).message}`, { cause: e });
    await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
    const tmp = `${keyFile}.${process.pid}.tmp`;
    await writeFile(tmp, randomBytes(KEY_BYTES).toString('base64url'), { mode: 0o600, flag: 'wx' });
    await rename(tmp, keyFile);
    // a concurrent first start may have won the rename: read back whatever is there now
    text = await readFile(keyFile, 'utf8');
  }
  const key = Buffer.from(text.trim(), 'base64url');
  if (key.length !== KEY_BYTES) throw new Error(`the secret key ${keyFile} must hold ${KEY_BYTES} bytes in base64url`);
  return key;
}
