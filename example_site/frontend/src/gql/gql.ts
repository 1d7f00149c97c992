/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment TaskFields on UserTaskStatus {\n    id\n    uuid\n    name\n    state\n    stateText\n    completedSteps\n    totalSteps\n    percentComplete\n    isFinished\n    isContainer\n    attempts\n    seq\n    created\n    modified\n    started\n    finished\n  }\n": typeof types.TaskFieldsFragmentDoc,
    "\n  fragment TaskPage on UserTaskStatus {\n    ...TaskFields\n    taskClass\n    parent {\n      id\n      uuid\n      name\n    }\n    children {\n      ...TaskFields\n      children {\n        ...TaskFields\n        children {\n          ...TaskFields\n        }\n      }\n    }\n    artifacts {\n      id\n      uuid\n      name\n      text\n      url\n      fileUrl\n      created\n    }\n  }\n": typeof types.TaskPageFragmentDoc,
    "\n  query TaskList($filters: UserTaskStatusFilter, $first: Int!, $after: String) {\n    userTaskStatuses(filters: $filters, first: $first, after: $after) {\n      watermark\n      totalCount\n      edges {\n        node {\n          ...TaskFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.TaskListDocument,
    "\n  subscription TaskListChanges($filters: UserTaskStatusFilter, $since: String) {\n    userTaskStatusChanges(filters: $filters, since: $since) {\n      kind\n      watermark\n      deletedId\n      status {\n        ...TaskFields\n      }\n    }\n  }\n": typeof types.TaskListChangesDocument,
    "\n  subscription TaskPageLive($uuid: UUID!) {\n    userTaskStatus(uuid: $uuid) {\n      ...TaskPage\n    }\n  }\n": typeof types.TaskPageLiveDocument,
    "\n  mutation StartTask($steps: Int!, $stepSeconds: Float!, $failAtStep: Int) {\n    startDemoTask(steps: $steps, stepSeconds: $stepSeconds, failAtStep: $failAtStep) {\n      ...TaskFields\n    }\n  }\n": typeof types.StartTaskDocument,
    "\n  mutation StartCanvas($kind: String!) {\n    startDemoCanvas(kind: $kind, children: 3, steps: 5, stepSeconds: 0.3) {\n      ...TaskFields\n    }\n  }\n": typeof types.StartCanvasDocument,
    "\n  mutation StartExport($rows: Int!) {\n    startDemoExport(rows: $rows) {\n      ...TaskFields\n    }\n  }\n": typeof types.StartExportDocument,
    "\n  mutation CancelTask($uuid: UUID!) {\n    cancelUserTask(uuid: $uuid) {\n      ...TaskFields\n    }\n  }\n": typeof types.CancelTaskDocument,
    "\n  mutation DeleteTask($uuid: UUID!) {\n    deleteUserTask(uuid: $uuid)\n  }\n": typeof types.DeleteTaskDocument,
};
const documents: Documents = {
    "\n  fragment TaskFields on UserTaskStatus {\n    id\n    uuid\n    name\n    state\n    stateText\n    completedSteps\n    totalSteps\n    percentComplete\n    isFinished\n    isContainer\n    attempts\n    seq\n    created\n    modified\n    started\n    finished\n  }\n": types.TaskFieldsFragmentDoc,
    "\n  fragment TaskPage on UserTaskStatus {\n    ...TaskFields\n    taskClass\n    parent {\n      id\n      uuid\n      name\n    }\n    children {\n      ...TaskFields\n      children {\n        ...TaskFields\n        children {\n          ...TaskFields\n        }\n      }\n    }\n    artifacts {\n      id\n      uuid\n      name\n      text\n      url\n      fileUrl\n      created\n    }\n  }\n": types.TaskPageFragmentDoc,
    "\n  query TaskList($filters: UserTaskStatusFilter, $first: Int!, $after: String) {\n    userTaskStatuses(filters: $filters, first: $first, after: $after) {\n      watermark\n      totalCount\n      edges {\n        node {\n          ...TaskFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.TaskListDocument,
    "\n  subscription TaskListChanges($filters: UserTaskStatusFilter, $since: String) {\n    userTaskStatusChanges(filters: $filters, since: $since) {\n      kind\n      watermark\n      deletedId\n      status {\n        ...TaskFields\n      }\n    }\n  }\n": types.TaskListChangesDocument,
    "\n  subscription TaskPageLive($uuid: UUID!) {\n    userTaskStatus(uuid: $uuid) {\n      ...TaskPage\n    }\n  }\n": types.TaskPageLiveDocument,
    "\n  mutation StartTask($steps: Int!, $stepSeconds: Float!, $failAtStep: Int) {\n    startDemoTask(steps: $steps, stepSeconds: $stepSeconds, failAtStep: $failAtStep) {\n      ...TaskFields\n    }\n  }\n": types.StartTaskDocument,
    "\n  mutation StartCanvas($kind: String!) {\n    startDemoCanvas(kind: $kind, children: 3, steps: 5, stepSeconds: 0.3) {\n      ...TaskFields\n    }\n  }\n": types.StartCanvasDocument,
    "\n  mutation StartExport($rows: Int!) {\n    startDemoExport(rows: $rows) {\n      ...TaskFields\n    }\n  }\n": types.StartExportDocument,
    "\n  mutation CancelTask($uuid: UUID!) {\n    cancelUserTask(uuid: $uuid) {\n      ...TaskFields\n    }\n  }\n": types.CancelTaskDocument,
    "\n  mutation DeleteTask($uuid: UUID!) {\n    deleteUserTask(uuid: $uuid)\n  }\n": types.DeleteTaskDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TaskFields on UserTaskStatus {\n    id\n    uuid\n    name\n    state\n    stateText\n    completedSteps\n    totalSteps\n    percentComplete\n    isFinished\n    isContainer\n    attempts\n    seq\n    created\n    modified\n    started\n    finished\n  }\n"): (typeof documents)["\n  fragment TaskFields on UserTaskStatus {\n    id\n    uuid\n    name\n    state\n    stateText\n    completedSteps\n    totalSteps\n    percentComplete\n    isFinished\n    isContainer\n    attempts\n    seq\n    created\n    modified\n    started\n    finished\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TaskPage on UserTaskStatus {\n    ...TaskFields\n    taskClass\n    parent {\n      id\n      uuid\n      name\n    }\n    children {\n      ...TaskFields\n      children {\n        ...TaskFields\n        children {\n          ...TaskFields\n        }\n      }\n    }\n    artifacts {\n      id\n      uuid\n      name\n      text\n      url\n      fileUrl\n      created\n    }\n  }\n"): (typeof documents)["\n  fragment TaskPage on UserTaskStatus {\n    ...TaskFields\n    taskClass\n    parent {\n      id\n      uuid\n      name\n    }\n    children {\n      ...TaskFields\n      children {\n        ...TaskFields\n        children {\n          ...TaskFields\n        }\n      }\n    }\n    artifacts {\n      id\n      uuid\n      name\n      text\n      url\n      fileUrl\n      created\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TaskList($filters: UserTaskStatusFilter, $first: Int!, $after: String) {\n    userTaskStatuses(filters: $filters, first: $first, after: $after) {\n      watermark\n      totalCount\n      edges {\n        node {\n          ...TaskFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query TaskList($filters: UserTaskStatusFilter, $first: Int!, $after: String) {\n    userTaskStatuses(filters: $filters, first: $first, after: $after) {\n      watermark\n      totalCount\n      edges {\n        node {\n          ...TaskFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TaskListChanges($filters: UserTaskStatusFilter, $since: String) {\n    userTaskStatusChanges(filters: $filters, since: $since) {\n      kind\n      watermark\n      deletedId\n      status {\n        ...TaskFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription TaskListChanges($filters: UserTaskStatusFilter, $since: String) {\n    userTaskStatusChanges(filters: $filters, since: $since) {\n      kind\n      watermark\n      deletedId\n      status {\n        ...TaskFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TaskPageLive($uuid: UUID!) {\n    userTaskStatus(uuid: $uuid) {\n      ...TaskPage\n    }\n  }\n"): (typeof documents)["\n  subscription TaskPageLive($uuid: UUID!) {\n    userTaskStatus(uuid: $uuid) {\n      ...TaskPage\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartTask($steps: Int!, $stepSeconds: Float!, $failAtStep: Int) {\n    startDemoTask(steps: $steps, stepSeconds: $stepSeconds, failAtStep: $failAtStep) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation StartTask($steps: Int!, $stepSeconds: Float!, $failAtStep: Int) {\n    startDemoTask(steps: $steps, stepSeconds: $stepSeconds, failAtStep: $failAtStep) {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartCanvas($kind: String!) {\n    startDemoCanvas(kind: $kind, children: 3, steps: 5, stepSeconds: 0.3) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation StartCanvas($kind: String!) {\n    startDemoCanvas(kind: $kind, children: 3, steps: 5, stepSeconds: 0.3) {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartExport($rows: Int!) {\n    startDemoExport(rows: $rows) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation StartExport($rows: Int!) {\n    startDemoExport(rows: $rows) {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelTask($uuid: UUID!) {\n    cancelUserTask(uuid: $uuid) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation CancelTask($uuid: UUID!) {\n    cancelUserTask(uuid: $uuid) {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteTask($uuid: UUID!) {\n    deleteUserTask(uuid: $uuid)\n  }\n"): (typeof documents)["\n  mutation DeleteTask($uuid: UUID!) {\n    deleteUserTask(uuid: $uuid)\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;