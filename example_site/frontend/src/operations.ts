// Every GraphQL operation of the SPA. `graphql()` is generated (src/gql/) from these strings and
// the schema, so each document carries its result and variable types: no casts anywhere.
import { graphql } from "./gql";

/** What every view of a task shows; the `id` is the global id Apollo's cache keys the object on. */
export const TaskFields = graphql(`
  fragment TaskFields on UserTaskStatus {
    id
    uuid
    name
    state
    stateText
    completedSteps
    totalSteps
    percentComplete
    isFinished
    isContainer
    attempts
    seq
    created
    modified
    started
    finished
  }
`);

/** The task page: a canvas's children to three levels (a chain of groups of chains), artifacts. */
export const TaskPageFields = graphql(`
  fragment TaskPage on UserTaskStatus {
    ...TaskFields
    taskClass
    parent {
      id
      uuid
      name
    }
    children {
      ...TaskFields
      children {
        ...TaskFields
        children {
          ...TaskFields
        }
      }
    }
    artifacts {
      id
      uuid
      name
      text
      url
      fileUrl
      created
    }
  }
`);

/** A page of the viewer's tasks, newest first, and the watermark it was read at. */
export const TaskList = graphql(`
  query TaskList($filters: UserTaskStatusFilter, $first: Int!, $after: String) {
    userTaskStatuses(filters: $filters, first: $first, after: $after) {
      watermark
      totalCount
      edges {
        node {
          ...TaskFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

/** Every change to the list's tasks committed after `since`, deletions included, then live. */
export const TaskListChanges = graphql(`
  subscription TaskListChanges($filters: UserTaskStatusFilter, $since: String) {
    userTaskStatusChanges(filters: $filters, since: $since) {
      kind
      watermark
      deletedId
      status {
        ...TaskFields
      }
    }
  }
`);

/** The task's state at once, then every change; completes once it has finished. */
export const TaskPageLive = graphql(`
  subscription TaskPageLive($uuid: UUID!) {
    userTaskStatus(uuid: $uuid) {
      ...TaskPage
    }
  }
`);

export const StartTask = graphql(`
  mutation StartTask($steps: Int!, $stepSeconds: Float!, $failAtStep: Int) {
    startDemoTask(steps: $steps, stepSeconds: $stepSeconds, failAtStep: $failAtStep) {
      ...TaskFields
    }
  }
`);

export const StartCanvas = graphql(`
  mutation StartCanvas($kind: String!) {
    startDemoCanvas(kind: $kind, children: 3, steps: 5, stepSeconds: 0.3) {
      ...TaskFields
    }
  }
`);

export const StartExport = graphql(`
  mutation StartExport($rows: Int!) {
    startDemoExport(rows: $rows) {
      ...TaskFields
    }
  }
`);

export const CancelTask = graphql(`
  mutation CancelTask($uuid: UUID!) {
    cancelUserTask(uuid: $uuid) {
      ...TaskFields
    }
  }
`);

export const DeleteTask = graphql(`
  mutation DeleteTask($uuid: UUID!) {
    deleteUserTask(uuid: $uuid)
  }
`);
