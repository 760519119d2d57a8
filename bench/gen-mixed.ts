/**
 * A "real-looking" export for the side-by-side bench (issue 13): users with 1-8 groups of 1-250
 * conversations, most groups small and a few big, each user's rows contiguous (grouped by user, as
 * exports usually are). Deterministic: the same options give the same bytes.
 *
 * Per user: groups = 1 + floor(8 u²) (1-8, mostly few), each group 1 + floor(250 u³) conversations
 * (1-250, mostly small), u uniform from a seeded generator; a user's conversations are distinct
 * (peers `u<i>_<k>`, one in four a group conversation) and their total is kept within the 1000 a
 * user may hold, so no user is refused. 500 users (seed 1) give 94,454 rows and 2,009 writes (1,512 creates, 497 updates).
 */
import { open } from 'node:fs/promises';
import { mulberry32 } from '../src/emulator/index.js';

/** Options of {@link generateMixedCsv}. */
export interface MixedCsvOptions {
  readonly path: string;
  readonly users: number;
  /** @default 1 */
  readonly seed?: number;
}

const NAMES = ['Family', 'Work', 'Friends', 'VIP', '客户', 'Book club 📚', 'School "A"', 'Archive'];
const MAX_CONVERSATIONS = 1000;

function quote(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One user of the mixed export: its groups in order, each with its conversation keys (`1:peer`, `2:@TGS#…`). */
export interface MixedUser {
  readonly user: string;
  readonly groups: readonly { readonly name: string; readonly conversations: readonly string[] }[];
}

/** The users of the mixed export, in file order (the same for the same `users` and `seed`). */
export function* mixedUsers(users: number, seed = 1): Generator<MixedUser> {
  const next = mulberry32(seed);
  const width = String(users).length;
  for (let i = 0; i < users; i++) {
    const user = `mixed_${String(i).padStart(width, '0')}`;
    const count = 1 + Math.floor(8 * next() ** 2);
    const groups: { name: string; conversations: string[] }[] = [];
    let held = 0;
    for (let g = 0; g < count; g++) {
      const wanted = 1 + Math.floor(250 * next() ** 3);
      const size = Math.max(1, Math.min(wanted, MAX_CONVERSATIONS - held - (count - g - 1)));
      const conversations: string[] = [];
      for (let k = 0; k < size; k++) {
        const peer = `u${i}_${held + k}`;
        conversations.push(k % 4 === 3 ? `2:@TGS#${peer}` : `1:${peer}`);
      }
      groups.push({ name: NAMES[g] as string, conversations });
      held += size;
    }
    yield { user, groups };
  }
}

/** Writes the mixed export; returns the number of data rows. */
export async function generateMixedCsv(options: MixedCsvOptions): Promise<number> {
  const file = await open(options.path, 'w');
  let rows = 0;
  try {
    let buffer = 'From_Account,GroupName,Type,To_Account,ToGroupId\n';
    for (const { user, groups } of mixedUsers(options.users, options.seed ?? 1)) {
      for (const group of groups) {
        const name = quote(group.name);
        for (const key of group.conversations) {
          const id = key.slice(2);
          buffer += key.startsWith('2:') ? `${user},${name},2,,${id}\n` : `${user},${name},1,${id},\n`;
        }
        rows += group.conversations.length;
      }
      if (buffer.length >= 1 << 20) {
        await file.write(buffer);
        buffer = '';
      }
    }
    await file.write(buffer);
  } finally {
    await file.close();
  }
  return rows;
}
