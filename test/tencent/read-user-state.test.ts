import { describe, expect, it } from 'vitest';
import { isSyncError } from '../../src/errors.js';
import type { Conversation } from '../../src/model.js';
import { type GroupsPage, type ListedConversation, readUserState } from '../../src/tencent/api.js';

// readUserState over scripted pages (no HTTP): what the planner and `verify` get as a user's state.

const peer = (id: string): Conversation => ({ type: 1, id });
const team = (id: string): Conversation => ({ type: 2, id });
const listed = (conversation: Conversation, groupIds: number[], marked = false): ListedConversation => ({
  conversation,
  groupIds,
  marked,
});

/** A ChatApi whose get_contact_group answers `pages` in turn, recording each StartIndex asked for. */
function pagesApi(pages: GroupsPage[]) {
  const starts: number[] = [];
  return {
    starts,
    async getGroupsPage(_user: string, startIndex: number): Promise<GroupsPage> {
      starts.push(startIndex);
      const page = pages[starts.length - 1];
      if (page === undefined) throw new Error(`no page ${starts.length}`);
      return page;
    },
  };
}

const lastPage = (page: Partial<GroupsPage>): GroupsPage => ({
  groups: [],
  conversations: [],
  complete: true,
  nextStartIndex: 0,
  completeFlag: 1,
  ...page,
});

describe('readUserState: the state it folds from the pages', () => {
  it('orders groups by name, then GroupId, and each group by conversation type and id', async () => {
    const api = pagesApi([
      {
        groups: [
          { name: 'b', groupId: 1 },
          { name: 'a', groupId: 3 },
        ],
        conversations: [
          listed(team('z'), [1]),
          listed(peer('y'), [1, 3]),
          listed(peer('x'), [1]),
          listed(team('c'), [3]),
          listed(peer('w'), [2]),
        ],
        complete: false,
        nextStartIndex: 5,
      },
      lastPage({
        groups: [{ name: 'a', groupId: 2 }],
        conversations: [listed(peer('v'), [2]), listed(peer('u'), [3])],
      }),
    ]);
    const state = await readUserState(api, 'alice');
    expect(api.starts).toEqual([0, 5]);
    expect(state).toEqual({
      user: 'alice',
      groups: [
        { groupId: 2, name: 'a', conversations: [peer('v'), peer('w')] },
        { groupId: 3, name: 'a', conversations: [peer('u'), peer('y'), team('c')] },
        { groupId: 1, name: 'b', conversations: [peer('x'), peer('y'), team('z')] },
      ],
    });
    // Same names the other way round: the GroupId decides, not the order of the pages.
    const swapped = await readUserState(
      pagesApi([
        lastPage({
          groups: [
            { name: 'a', groupId: 3 },
            { name: 'a', groupId: 2 },
          ],
        }),
      ]),
      'alice',
    );
    expect(swapped.groups.map((g) => g.groupId)).toEqual([2, 3]);
    // Listed in order already, and a later name with a smaller GroupId: still by name, then GroupId.
    const listedInOrder = await readUserState(
      pagesApi([
        lastPage({
          groups: [
            { name: 'a', groupId: 5 },
            { name: 'a', groupId: 6 },
            { name: 'b', groupId: 1 },
          ],
        }),
      ]),
      'alice',
    );
    expect(listedInOrder.groups.map((g) => [g.name, g.groupId])).toEqual([
      ['a', 5],
      ['a', 6],
      ['b', 1],
    ]);
  });

  it('a conversation naming a group the listing does not name is in no group', async () => {
    const state = await readUserState(
      pagesApi([
        lastPage({
          groups: [{ name: 'g', groupId: 1 }],
          conversations: [listed(peer('a'), [1, 9]), listed(peer('b'), [9])],
        }),
      ]),
      'u',
    );
    expect(state.groups).toEqual([{ groupId: 1, name: 'g', conversations: [peer('a')] }]);
  });

  it('keeps conversations in no group, or with a mark, in `marked`, in order; no `marked` when none', async () => {
    const state = await readUserState(
      pagesApi([
        lastPage({
          groups: [{ name: 'g', groupId: 1 }],
          conversations: [
            listed(team('t'), []),
            listed(peer('m'), [1], true),
            listed(peer('plain'), [1]),
            listed(peer('b'), []),
          ],
        }),
      ]),
      'u',
    );
    expect(state.marked).toEqual([peer('b'), peer('m'), team('t')]);
    expect(state.groups[0]?.conversations).toEqual([peer('m'), peer('plain')]);

    const none = await readUserState(
      pagesApi([lastPage({ groups: [{ name: 'g', groupId: 1 }], conversations: [listed(peer('a'), [1])] })]),
      'u',
    );
    expect(none).toEqual({ user: 'u', groups: [{ groupId: 1, name: 'g', conversations: [peer('a')] }] });
    expect('marked' in none).toBe(false);
  });
});

describe('readUserState: where the listing ends', () => {
  it('a last page with CompleteFlag 1 and NextStartIndex 0 ends it without a warning', async () => {
    const warnings: string[] = [];
    const api = pagesApi([
      { groups: [], conversations: [], complete: false, nextStartIndex: 3 },
      lastPage({}),
    ]);
    await readUserState(api, 'u', { onWarning: (w) => warnings.push(w) });
    expect(api.starts).toEqual([0, 3]);
    expect(warnings).toEqual([]);
  });

  it('a page without CompleteFlag that does not advance is taken as the end, and the warning says CompleteFlag 0', async () => {
    const warnings: string[] = [];
    const api = pagesApi([{ groups: [], conversations: [], complete: false, nextStartIndex: 0 }]);
    await readUserState(api, 'u', { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([
      'get_contact_group for user "u": CompleteFlag 0 but NextStartIndex 0 does not advance from 0; taking the listing as complete',
    ]);
  });

  it('a listing that does not end names the user in the error context', async () => {
    const endless = {
      async getGroupsPage(_user: string, start: number): Promise<GroupsPage> {
        return { groups: [], conversations: [], complete: false, nextStartIndex: start + 1 };
      },
    };
    const err = await readUserState(endless, 'bob', { maxPages: 3 }).catch((e: unknown) => e);
    expect(isSyncError(err, 'UNEXPECTED_RESPONSE')).toBe(true);
    expect((err as { context: unknown }).context).toEqual({ user: 'bob' });
    expect((err as Error).message).toBe(
      'get_contact_group for user "bob" did not end after 3 pages (NextStartIndex 3): its state is unknown',
    );
  });
});
