/** App states shared by the end-to-end tests of export and backup. */

const many = Array.from({ length: 150 }, (_, i) => ({ type: 1 as const, id: `peer-${i}` }));

/** An app state a CSV cannot easily say: quotes, commas, line breaks, CJK, group IDs, an empty group. */
export const AWKWARD_STATE = {
  users: {
    alice: [
      {
        groupId: 1,
        name: 'Family',
        members: [
          { type: 1, id: 'bob' },
          { type: 2, id: '@TGS#1B2AUI7RZ' },
        ],
      },
      { groupId: 2, name: 'Empty', members: [] },
      { groupId: 3, name: 'Work, "Q1"\nteam', members: [{ type: 1, id: "o'brien,jr" }] },
    ],
    bob: [
      { groupId: 1, name: '家族', members: [{ type: 1, id: 'alice' }] },
      { groupId: 4, name: 'Big', members: many },
    ],
    '=SUM(1)': [{ groupId: 1, name: '-minus', members: [{ type: 1, id: '+plus' }] }],
  },
};
