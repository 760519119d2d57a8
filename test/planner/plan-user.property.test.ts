import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Conversation, conversationKey, LIMITS, type RemoteUser } from '../../src/model.js';
import { countCalls } from '../../src/planner/calls.js';
import { desiredDigestOf, planUser } from '../../src/planner/plan-user.js';
import type { PlanOptions, UserPlan } from '../../src/planner/types.js';
import { c2c, desiredUser, grp } from './fixtures.js';
import { ServiceModel } from './service-model.js';

/** Conversation number i: c2c for even numbers, group conversations for odd ones. */
const conv = (i: number): Conversation => (i % 2 === 0 ? c2c(`u${i}`) : grp(`@TGS#${i}`));
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'Ω', '名前', 'a b', 'A'];
const name = fc.constantFrom(...NAMES);
/** Small universe: start, end and every intermediate state stay under 1000 conversations. */
const members = fc.array(fc.integer({ min: 0, max: 299 }), { maxLength: 230 });
const desiredGroups = fc.dictionary(name, members, { maxKeys: 8 });
const remoteGroups = fc.array(fc.tuple(name, members), { maxLength: 8 });
const uniqueRemoteGroups = fc.uniqueArray(fc.tuple(name, members), { maxLength: 8, selector: ([n]) => n });
const mode = fc.constantFrom<PlanOptions['mode']>('merge', 'mirror');

function toRemote(groups: readonly (readonly [string, readonly number[]])[]): RemoteUser {
  return {
    user: 'u',
    groups: groups.map(([n, m], i) => ({ groupId: i + 1, name: n, conversations: m.map(conv) })),
  };
}
function toDesired(groups: Record<string, readonly number[]>, hasRejectedRows = false) {
  return desiredUser('u', Object.fromEntries(Object.entries(groups).map(([n, m]) => [n, m.map(conv)])), {
    hasRejectedRows,
  });
}
const keySet = (nums: readonly number[]): Set<string> => new Set(nums.map((i) => conversationKey(conv(i))));

/** The expected calls per endpoint, from the per-group formula, computed without the planner. */
function expectedCalls(
  desired: Record<string, readonly number[]>,
  remote: readonly (readonly [string, readonly number[]])[],
  mirror: boolean,
) {
  const held = new Map<string, { count: number; keys: Set<string> }>();
  for (const [n, m] of remote) {
    const e = held.get(n) ?? { count: 0, keys: new Set<string>() };
    e.count += 1;
    for (const k of keySet(m)) e.keys.add(k);
    held.set(n, e);
  }
  const calls = { create: 0, update: 0, delete: 0 };
  for (const [n, m] of Object.entries(desired)) {
    const want = keySet(m);
    const h = held.get(n);
    if (h === undefined) {
      calls.create += 1;
      calls.update += Math.max(1, Math.ceil(want.size / 100)) - 1;
    } else {
      let changes = [...want].filter((k) => !h.keys.has(k)).length;
      if (mirror) changes += [...h.keys].filter((k) => !want.has(k)).length;
      calls.update += Math.ceil(changes / 100);
    }
  }
  if (mirror) for (const [n, h] of held) if (!(n in desired)) calls.delete += h.count;
  return calls;
}

function applyPlan(remote: RemoteUser, plan: UserPlan): ServiceModel {
  const model = new ServiceModel(remote, { oneByOne: true });
  for (const op of plan.operations) model.apply(op); // throws on any limit passed mid-way
  return model;
}

describe('planUser properties', () => {
  it('makes exactly the calls of the per-group formula', () => {
    fc.assert(
      fc.property(desiredGroups, remoteGroups, mode, fc.boolean(), (desired, remote, m, assumeEmpty) => {
        const r = assumeEmpty ? [] : remote;
        const plan = planUser(toDesired(desired), assumeEmpty ? undefined : toRemote(r), {
          mode: m,
          assumeEmpty,
        });
        const expected = expectedCalls(desired, r, m === 'mirror');
        const counted = countCalls([plan]);
        expect(plan.violations).toEqual([]);
        expect({
          create: counted.create_contact_group,
          update: counted.update_contact_group,
          delete: counted.del_contact_group,
        }).toEqual(expected);
        for (const op of plan.operations) {
          const items =
            op.kind === 'delete' ? 0 : op.add.length + (op.kind === 'update' ? op.remove.length : 0);
          expect(items).toBeLessThanOrEqual(LIMITS.itemsPerCall);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('merge: applying the plan yields a superset of the desired state and keeps what was there', () => {
    fc.assert(
      fc.property(desiredGroups, remoteGroups, (desired, remote) => {
        const r = toRemote(remote);
        const state = applyPlan(
          r,
          planUser(toDesired(desired), r, { mode: 'merge', assumeEmpty: false }),
        ).state();
        for (const [n, m] of Object.entries(desired)) {
          for (const k of keySet(m)) expect(state.get(n)).toContain(k);
        }
        for (const [n, m] of remote) for (const k of keySet(m)) expect(state.get(n)).toContain(k);
        expect(new Set(state.keys())).toEqual(new Set([...Object.keys(desired), ...remote.map(([n]) => n)]));
      }),
      { numRuns: 100 },
    );
  });

  it('mirror: applying the plan yields exactly the desired state; with rejected rows, a merge', () => {
    fc.assert(
      fc.property(desiredGroups, uniqueRemoteGroups, fc.boolean(), (desired, remote, rejected) => {
        const r = toRemote(remote);
        const plan = planUser(toDesired(desired, rejected), r, { mode: 'mirror', assumeEmpty: false });
        const state = applyPlan(r, plan).state();
        if (rejected) {
          expect(plan.downgradedToMerge).toBe(true);
          expect(
            plan.operations.every(
              (op) => op.kind !== 'delete' && (op.kind === 'create' || op.remove.length === 0),
            ),
          ).toBe(true);
          for (const [n, m] of remote) for (const k of keySet(m)) expect(state.get(n)).toContain(k);
        } else {
          const expected = new Map(Object.entries(desired).map(([n, m]) => [n, [...keySet(m)].sort()]));
          expect(state).toEqual(expected);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("desiredDigestOf is the plan's desiredDigest, whatever the remote state, the mode and the rows' order", () => {
    fc.assert(
      fc.property(
        desiredGroups,
        remoteGroups,
        mode,
        fc.boolean(),
        fc.boolean(),
        (d, r, m, rejected, empty) => {
          const desired = toDesired(d, rejected);
          const reversed = {
            ...desired,
            groups: [...desired.groups]
              .reverse()
              .map((g) => ({ ...g, conversations: [...g.conversations].reverse() })),
          };
          const plan = planUser(desired, empty ? undefined : toRemote(r), { mode: m, assumeEmpty: empty });
          expect(desiredDigestOf(desired)).toBe(plan.desiredDigest);
          expect(desiredDigestOf(reversed)).toBe(plan.desiredDigest);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is deterministic: shuffled groups, conversations and duplicate rows give the same plan and ids', () => {
    const shuffled = <T>(items: readonly T[]) =>
      fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });
    fc.assert(
      fc.property(
        desiredGroups.chain((d) =>
          fc.tuple(
            fc.constant(d),
            fc.tuple(
              ...Object.entries(d).map(([n, m]) =>
                fc.tuple(fc.constant(n), shuffled([...m, ...m.slice(0, 3)])),
              ),
            ),
          ),
        ),
        remoteGroups.chain((r) => fc.tuple(fc.constant(r), shuffled(r.map((g, i) => [i, g] as const)))),
        mode,
        ([desired, desiredShuffled], [remote, remoteShuffled], m) => {
          const options: PlanOptions = { mode: m, assumeEmpty: false };
          const a = planUser(toDesired(desired), toRemote(remote), options);
          const b = planUser(
            {
              ...desiredUser('u', {}),
              groups: [...desiredShuffled]
                .reverse()
                .map(([n, ms]) => ({ name: n, conversations: ms.map(conv) })),
            },
            {
              user: 'u',
              groups: remoteShuffled.map(([i, [n, ms]]) => ({
                groupId: i + 1,
                name: n,
                conversations: [...ms].reverse().map(conv),
              })),
            },
            options,
          );
          expect(b).toEqual(a);
        },
      ),
      { numRuns: 100 },
    );
  });
});

/** mulberry32: a tiny seeded PRNG for building large states cheaply. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A remote state of 900-1000 conversations (about a third of them in two groups, so a removal does
 * not always free a conversation) and a desired state that keeps part of each group and adds new
 * conversations, so that start ∪ end is well over 1000: a careless order passes the limit.
 */
function nearLimitCase(seed: number) {
  const rnd = prng(seed);
  const pick = (max: number) => Math.floor(rnd() * max);
  const groupCount = 2 + pick(9);
  const remote: [string, number[]][] = Array.from({ length: groupCount }, (_, g) => [`g${g}`, []]);
  const pool = 900 + pick(101);
  for (let i = 0; i < pool; i++) {
    const homes = rnd() < 0.3 ? 2 : 1;
    for (let h = 0; h < homes; h++) remote[pick(groupCount)]?.[1].push(i);
  }
  const desired: Record<string, number[]> = {};
  const taken = new Set<number>();
  for (const [n, m] of remote) {
    if (rnd() < 0.15) continue;
    const keep = rnd();
    desired[n] = m.filter(() => rnd() < keep);
    for (const i of desired[n]) taken.add(i);
  }
  for (let g = 0; g < pick(3); g++) desired[`new${g}`] = [];
  // Up to 40 conversations carrying only a mark (numbers 3000+): they count toward the 1000 too.
  const marked = Array.from({ length: pick(41) }, (_, i) => 3000 + i);
  for (const n of Object.keys(desired)) {
    for (let k = pick(250); k > 0; k--) {
      const i = 1000 + pick(1000);
      if (taken.size + marked.length >= 1000 && !taken.has(i)) continue;
      taken.add(i);
      desired[n]?.push(i);
    }
  }
  return { remote, desired, marked };
}

describe('planUser near the limits', () => {
  it('never passes 20 groups or 1000 conversations (marks included) mid-way, not even item by item, and only splits mixed updates', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), mode, (seed, m) => {
        const { remote, desired, marked } = nearLimitCase(seed);
        const r = { ...toRemote(remote), marked: marked.map(conv) };
        const plan = planUser(toDesired(desired), r, { mode: m, assumeEmpty: false });
        const wanted = new Set(Object.values(desired).flatMap((x) => [...keySet(x)]));
        const held = new Set(remote.flatMap(([, x]) => [...keySet(x)]));
        const marks = keySet(marked);
        const endCount =
          m === 'mirror' ? new Set([...wanted, ...marks]).size : new Set([...wanted, ...held, ...marks]).size;
        expect(plan.violations.length > 0).toBe(endCount > LIMITS.conversationsPerUser);
        if (plan.violations.length > 0) return;
        const model = applyPlan(r, plan);
        expect(model.conversationCount()).toBe(endCount);
        const expected = expectedCalls(desired, remote, m === 'mirror');
        const formula = expected.create + expected.update + expected.delete;
        expect(plan.operations.length).toBeGreaterThanOrEqual(formula);
        expect(plan.operations.length).toBeLessThanOrEqual(formula + Object.keys(desired).length);
      }),
      { numRuns: 60 },
    );
  });
});
