import { randomBytes } from 'node:crypto';
import { badRequest, isRegistryError, notFound } from '../domain/errors.js';
import type { User } from '../domain/records.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata } from '../ports/metadata.js';
import type { PasswordHasher } from '../ports/password-hasher.js';

export const USERNAME = /^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,254}$/;

/** Harbor's policy: 8 to 128 characters with an upper-case letter, a lower-case letter and a digit. */
export function checkPasswordPolicy(password: string): void {
  if (password.length < 8 || password.length > 128 || !/[A-Z]/.test(password) || !/[a-z]/.test(password) || !/[0-9]/.test(password)) {
    throw badRequest('the password must be 8-128 characters long and contain an upper-case letter, a lower-case letter and a digit');
  }
}

export function generatePassword(): string {
  // base64url of 18 random bytes, with the policy's classes guaranteed
  return `${randomBytes(18).toString('base64url')}Aa1`;
}

export class UserService {
  constructor(
    private readonly deps: {
      metadata: Metadata;
      hasher: PasswordHasher;
      clock: Clock;
      /** called when a user's credentials change, to drop cached authentications */
      onCredentialsChanged?: (userId: number) => void;
    },
  ) {}

  async create(input: { username: string; password: string; email?: string; realname?: string; sysadmin?: boolean }): Promise<User> {
    if (!USERNAME.test(input.username) || input.username.startsWith('robot$')) {
      throw badRequest('the username must be 1-255 letters, digits or . _ @ -, starting with a letter or digit');
    }
    checkPasswordPolicy(input.password);
    return this.deps.metadata.users.create({
      username: input.username,
      passwordHash: await this.deps.hasher.hash(input.password),
      ...(input.email !== undefined ? { email: input.email } : {}),
      ...(input.realname !== undefined ? { realname: input.realname } : {}),
      sysadmin: input.sysadmin ?? false,
      now: this.deps.clock.now(),
    });
  }

  async setPassword(username: string, password: string): Promise<void> {
    checkPasswordPolicy(password);
    const user = await this.deps.metadata.users.getByUsername(username);
    if (!user) throw notFound(`user ${username} not found`);
    await this.deps.metadata.users.setPassword(user.id, await this.deps.hasher.hash(password), this.deps.clock.now());
    this.deps.onCredentialsChanged?.(user.id);
  }

  async get(username: string): Promise<User | undefined> {
    return this.deps.metadata.users.getByUsername(username);
  }

  /**
   * The first start: creates `admin` with the given password, or a generated one that the
   * caller prints once. Returns the password only when it was generated.
   */
  async bootstrapAdmin(password: string | undefined): Promise<{ created: boolean; generated?: string }> {
    if (await this.deps.metadata.users.getByUsername('admin')) return { created: false };
    const generated = password === undefined ? generatePassword() : undefined;
    try {
      await this.create({ username: 'admin', password: password ?? generated!, sysadmin: true, realname: 'system admin' });
    } catch (e) {
      // another instance created it at the same moment
      if (isRegistryError(e) && e.code === 'CONFLICT') return { created: false };
      throw e;
    }
    return { created: true, ...(generated ? { generated } : {}) };
  }
}
