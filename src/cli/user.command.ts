import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { openDatabase } from '../compose.js';
import { argon2Hasher } from '../crypto/argon2.hasher.js';
import { isRegistryError } from '../domain/errors.js';
import { systemClock } from '../ports/clock.js';
import { generatePassword, UserService } from '../services/user.service.js';

/** `berth user create|passwd NAME`: the password comes from stdin, or is generated and printed. */
export async function commandUser(
  config: Config,
  sub: 'create' | 'passwd',
  args: string[],
  opts: { admin: boolean; passwordStdin: boolean },
): Promise<number> {
  const username = args[0];
  if (!username) {
    process.stderr.write(`usage: berth user ${sub} <name> [--password-stdin]${sub === 'create' ? ' [--admin]' : ''}\n`);
    return 2;
  }
  const password = opts.passwordStdin ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : generatePassword();
  const metadata = await openDatabase(config);
  try {
    const users = new UserService({ metadata, hasher: argon2Hasher, clock: systemClock });
    if (sub === 'create') await users.create({ username, password, sysadmin: opts.admin });
    else await users.setPassword(username, password);
    process.stdout.write(
      `${sub === 'create' ? 'created user' : 'changed the password of'} ${username}${opts.passwordStdin ? '' : `; password: ${password}`}\n`,
    );
    return 0;
  } catch (e) {
    if (isRegistryError(e)) {
      process.stderr.write(`berth: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    await metadata.close();
  }
}
