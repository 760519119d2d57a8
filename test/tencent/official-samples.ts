/**
 * The sample requests and responses of the official pages, verbatim (key order kept).
 * Sources: shared/api-docs/{create,update,search,del}_contact_group.txt; get_contact_group from
 * shared/reference/tencent-chat-api.md §2.1; rename from the reference §2.3 (newest update page).
 */

export const CREATE_REQUEST = {
  From_Account: 'user_0001',
  GroupContactItem: [
    {
      GroupName: 'group_0001',
      ContactItem: [
        { Type: 1, To_Account: 'user_0002' },
        { Type: 2, ToGroupId: '@TGS#1B2AUI7RZ' },
      ],
    },
  ],
};

export const CREATE_RESPONSE = {
  GroupResultItem: [
    {
      GroupItem: { GroupName: 'group_0001', GroupId: 1 },
      ResultItem: [
        { ContactItem: { Type: 1, To_Account: 'user_0002' }, ResultCode: 0, ResultInfo: '' },
        { ContactItem: { Type: 2, ToGroupId: '@TGS#1B2AUI7RZ' }, ResultCode: 0, ResultInfo: '' },
      ],
    },
  ],
  ActionStatus: 'OK',
  ErrorCode: 0,
  ErrorInfo: '',
};

export const UPDATE_REQUEST = {
  From_Account: 'user20',
  UpdateType: 1,
  UpdateGroup: {
    UpdateGroupType: 2,
    OldGroupName: 'test1',
    ContactUpdateItem: [{ ContactOptType: 1, ContactItem: { Type: 1, To_Account: 'user1' } }],
  },
};

export const UPDATE_RESPONSE = {
  UpdateType: 1,
  UpdateGroupResult: {
    UpdateGroupType: 2,
    GroupName: 'test1',
    GroupId: 1,
    OldGroupName: 'test1',
    ContactResultItem: [
      { ContactOptType: 1, ContactItem: { Type: 1, To_Account: 'user1' }, ResultCode: 0, ResultInfo: '' },
    ],
  },
  ActionStatus: 'OK',
  ErrorCode: 0,
  ErrorInfo: '',
};

export const RENAME_REQUEST = {
  From_Account: 'user_0001',
  UpdateType: 1,
  UpdateGroup: { UpdateGroupType: 1, OldGroupName: 'group_0001', NewGroupName: 'group_0002' },
};

export const RENAME_RESPONSE = {
  UpdateType: 1,
  UpdateGroupResult: { UpdateGroupType: 1, GroupName: 'group_0002', GroupId: 1, OldGroupName: 'group_0001' },
  ActionStatus: 'OK',
  ErrorCode: 0,
  ErrorInfo: '',
};

export const SEARCH_REQUEST = {
  From_Account: 'user_0001',
  ContactItem: [
    { Type: 1, To_Account: 'user_0002' },
    { Type: 2, ToGroupId: '@TGS#1B2AUI7RZ' },
  ],
};

export const SEARCH_RESPONSE = {
  ContactResultItem: [
    {
      Type: 1,
      To_Account: 'user_0002',
      StandardMark: '11111110',
      CustomMark: 'abcde',
      ContactGroupId: [1, 2],
      Timestamp: 1775217000,
    },
    { Type: 2, ToGroupId: '@TGS#1B2AUI7RZ', StandardMark: '', ContactGroupId: [1], Timestamp: 1775186067 },
  ],
  GroupItem: [
    { GroupName: 'group_0001', GroupId: 1 },
    { GroupName: 'group_0002', GroupId: 2 },
  ],
  ActionStatus: 'OK',
  ErrorCode: 0,
  ErrorInfo: '',
};

export const DELETE_REQUEST = { From_Account: 'user_0001', GroupName: ['group_0001'] };

export const DELETE_RESPONSE = {
  GroupItem: [{ GroupName: 'group_0001', GroupId: 1 }],
  ActionStatus: 'OK',
  ErrorCode: 0,
  ErrorInfo: '',
};

export const GET_REQUEST = { From_Account: 'user_0001', StartIndex: 0 };

export const GET_RESPONSE = {
  ContactItem: [
    {
      Type: 1,
      To_Account: 'teacher4',
      StandardMark: '111001',
      ContactGroupId: [1, 2],
      Timestamp: 1670843110,
    },
    {
      Type: 2,
      ToGroupId: '@TGS#1N3RSUYG2',
      StandardMark: '111001',
      CustomMark: 'abcd',
      Timestamp: 1672998266,
    },
  ],
  GroupItem: [
    { GroupName: 'test1x', GroupId: 1 },
    { GroupName: 'test10', GroupId: 2 },
  ],
  CompleteFlag: 1,
  NextStartIndex: 0,
  ActionStatus: 'OK',
  ErrorCode: 0,
  ErrorInfo: '',
};
