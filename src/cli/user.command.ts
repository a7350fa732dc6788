import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { openUserAdmin } from '../compose.js';
import { isRegistryError } from '../domain/errors.js';
import { generatePassword } from '../services/user.service.js';

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
  const { users, close } = await openUserAdmin(config);
  try {
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
    await close();
  }
}
