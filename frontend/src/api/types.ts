// Names for the generated OpenAPI schemas. Everything here is an alias of `schema.d.ts`
// (regenerate with `npm run gen` after `guanxi openapi > openapi.json`), never a hand-written shape.
import type { components, paths } from './schema'

type S = components['schemas']

export type Me = S['Me']
export type User = S['UserOut']
export type UserCreate = S['UserCreate']
export type UserUpdate = S['UserUpdate']
export type UserLookup = S['UserLookup']
export type Team = S['TeamOut']
export type TeamWrite = S['TeamWrite']
export type Role = S['RoleOut']
export type RoleWrite = S['RoleWrite']
export type PermissionCatalog = S['Catalog']
export type ApiKey = S['ApiKeyOut']
export type AuditEntry = S['AuditEntryOut']
export type FieldChange = S['Change']
export type CustomFieldDef = S['CustomFieldDef']
export type CustomFieldCreate = S['CustomFieldCreate']
export type CustomFieldType = S['CustomFieldCreate']['type']
export type FieldOption = S['Option']
export type SourceChannel = S['SourceChannel']
export type Customer = S['Customer']
export type CustomerCreate = S['CustomerCreate']
export type CustomerUpdate = S['CustomerUpdate']
/** POST /customers answers a Customer with `duplicates` filled in. */
export type CustomerCreated = S['Customer']
export type DuplicateMatch = S['DuplicateHit']
export type CustomerMeta = S['CustomerMeta']
export type MetaField = S['FieldMeta']
export type Contact = S['Contact']
export type ContactCreate = S['ContactCreate']
export type ContactUpdate = S['ContactWrite']

export type InteractionChannel = S['InteractionChannel']
export type InteractionChannelCreate = S['InteractionChannelCreate']
export type InteractionChannelUpdate = S['InteractionChannelUpdate']
export type Interaction = S['Interaction']
export type InteractionCreate = S['InteractionCreate']
export type InteractionCreated = S['InteractionCreated']
export type InteractionUpdate = S['InteractionUpdate']
export type FollowUp = S['FollowUp']
export type Attachment = S['Attachment']
export type Task = S['Task']
export type TaskCreate = S['TaskCreate']
export type TaskUpdate = S['TaskUpdate']
export type TaskCompleted = S['TaskCompleted']
export type MyWork = S['MyWork']
export type WorkBucket = S['WorkBucket']
export type Note = S['Note']
export type NoteCreate = S['NoteCreate']
export type Notification = S['Notification']
export type UnreadCount = S['UnreadCount']
export type TimelineEntry = S['TimelineEntry']
export type TimelinePage = S['TimelinePage']
export type TimelineKind = S['TimelineKind']

export type CustomerListQuery = NonNullable<paths['/api/v1/customers']['get']['parameters']['query']>
export type TaskListQuery = NonNullable<paths['/api/v1/tasks']['get']['parameters']['query']>
export type TimelineQuery = NonNullable<paths['/api/v1/customers/{customer_id}/timeline']['get']['parameters']['query']>
export type RoleScope = NonNullable<S['RoleWrite']['scope']>
/** Record ids are integers. */
export type Id = Customer['id']

export type DuplicateReason = S['DuplicateReason']
export type DuplicateCustomer = S['DuplicateCustomer']
export type DuplicateContact = S['DuplicateContact']
export type CustomerGroup = S['CustomerGroup']
export type ContactGroup = S['ContactGroup']
export type MergeRequest = S['MergeRequest']
export type MergeResult = S['MergeResult']
