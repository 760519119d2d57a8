/**
 * Wire types of the five conversation-group endpoints, exactly as the official pages show them.
 * Requests are what we send; responses are narrowed from `unknown` by the client before use.
 */

export type Endpoint =
  | 'create_contact_group'
  | 'update_contact_group'
  | 'search_contact_group'
  | 'del_contact_group'
  | 'get_contact_group';

export const ENDPOINTS: readonly Endpoint[] = [
  'create_contact_group',
  'update_contact_group',
  'search_contact_group',
  'del_contact_group',
  'get_contact_group',
];

/** A conversation on the wire. */
export type WireContactItem = { Type: 1; To_Account: string } | { Type: 2; ToGroupId: string };

/** The envelope every response carries. */
export interface WireEnvelope {
  ActionStatus: 'OK' | 'FAIL';
  ErrorCode: number;
  ErrorInfo: string;
  ErrorDisplay?: string;
}

// create_contact_group
export interface CreateContactGroupRequest {
  From_Account: string;
  GroupContactItem: [{ GroupName: string; ContactItem?: WireContactItem[] }];
}
export interface WireItemResult {
  ContactItem: WireContactItem;
  ResultCode: number;
  ResultInfo: string;
}
export interface CreateContactGroupResponse extends WireEnvelope {
  GroupResultItem?: {
    GroupItem: { GroupName: string; GroupId: number };
    ResultItem?: WireItemResult[];
  }[];
}

// update_contact_group
export interface WireContactUpdateItem {
  /** 1 = add to the group, 2 = remove from the group. */
  ContactOptType: 1 | 2;
  ContactItem: WireContactItem;
}
export interface UpdateContactGroupRequest {
  From_Account: string;
  UpdateType: 1;
  UpdateGroup:
    | { UpdateGroupType: 1; OldGroupName: string; NewGroupName: string }
    | { UpdateGroupType: 2; OldGroupName: string; ContactUpdateItem: WireContactUpdateItem[] };
}
export interface UpdateContactGroupResponse extends WireEnvelope {
  UpdateType?: 1;
  UpdateGroupResult?: {
    UpdateGroupType: 1 | 2;
    GroupName: string;
    GroupId: number;
    OldGroupName: string;
    ContactResultItem?: (WireItemResult & { ContactOptType: 1 | 2 })[];
  };
}

// search_contact_group
export interface SearchContactGroupRequest {
  From_Account: string;
  ContactItem: WireContactItem[];
}
export type WireContactResult = WireContactItem & {
  StandardMark?: string;
  CustomMark?: string;
  ContactGroupId?: number[];
  Timestamp?: number;
};
export interface WireGroupItem {
  GroupName: string;
  GroupId: number;
}
export interface SearchContactGroupResponse extends WireEnvelope {
  ContactResultItem?: WireContactResult[];
  GroupItem?: WireGroupItem[];
}

// del_contact_group
export interface DelContactGroupRequest {
  From_Account: string;
  GroupName: [string];
}
export interface DelContactGroupResponse extends WireEnvelope {
  GroupItem?: WireGroupItem[];
}

// get_contact_group
export interface GetContactGroupRequest {
  From_Account: string;
  StartIndex: number;
}
export interface GetContactGroupResponse extends WireEnvelope {
  ContactItem?: WireContactResult[];
  GroupItem?: WireGroupItem[];
  CompleteFlag?: number;
  NextStartIndex?: number;
}
