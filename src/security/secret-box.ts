import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * Encrypts secrets at rest (integration keys, later credentials) with AES-256-GCM under a key derived
 * from FIREWATCH_SECRET_KEY. Stored form: `v1.<iv>.<tag>.<ciphertext>`, base64url parts.
 */
export interface SecretBox {
  encrypt(plain: string): string;
  decrypt(sealed: string): string;
  /** HMAC-SHA256 under a separate derived key; for signing webhooks and hashing look-up keys. */
  sign(data: string): string;
}

export function createSecretBox(secretKey: string): SecretBox {
  const encKey = createHash('sha256').update(`firewatch:encrypt:${secretKey}`).digest();
  const macKey = createHash('sha256').update(`firewatch:sign:${secretKey}`).digest();
  return {
    encrypt(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', encKey, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
    },
    decrypt(sealed) {
      const [version, iv, tag, body] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('unrecognised sealed secret');
      const decipher = createDecipheriv('aes-256-gcm', encKey, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    },
    sign(data) {
      return createHmac('sha256', macKey).update(data).digest('hex');
    },
  };
}
