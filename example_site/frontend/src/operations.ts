import { gql } from "@apollo/client";

export const STATUS_FIELDS = gql`
  fragment StatusFields on UserTaskStatus {
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
    taskClass
    created
    modified
  }
`;

export const TASK_LIST = gql`
  query TaskList {
    userTaskStatuses(first: 50) {
      totalCount
      edges { node { ...StatusFields } }
    }
  }
  ${STATUS_FIELDS}
`;

export const TASK_LIST_CHANGES = gql`
  subscription TaskListChanges {
    userTaskStatuses { ...StatusFields }
  }
  ${STATUS_FIELDS}
`;

export const TASK_DETAIL = gql`
  subscription TaskDetail($uuid: UUID!) {
    userTaskStatus(uuid: $uuid) {
      ...StatusFields
      attempts
      children { ...StatusFields }
      artifacts { id name text url fileUrl }
    }
  }
  ${STATUS_FIELDS}
`;

export const START_TASK = gql`
  mutation StartTask($steps: Int!, $stepSeconds: Float!, $failAtStep: Int) {
    startDemoTask(steps: $steps, stepSeconds: $stepSeconds, failAtStep: $failAtStep) { ...StatusFields }
  }
  ${STATUS_FIELDS}
`;

export const START_CANVAS = gql`
  mutation StartCanvas($kind: String!) {
    startDemoCanvas(kind: $kind, children: 3, steps: 5, stepSeconds: 0.3) { ...StatusFields }
  }
  ${STATUS_FIELDS}
`;

export const START_EXPORT = gql`
  mutation StartExport($rows: Int!) {
    startDemoExport(rows: $rows) { ...StatusFields }
  }
  ${STATUS_FIELDS}
`;

export const CANCEL = gql`
  mutation Cancel($uuid: UUID!) { cancelUserTask(uuid: $uuid) { ...StatusFields } }
  ${STATUS_FIELDS}
`;

export const DELETE = gql`
  mutation Delete($uuid: UUID!) { deleteUserTask(uuid: $uuid) }
`;

export interface Status {
  id: string;
  uuid: string;
  name: string;
  state: string;
  stateText: string;
  completedSteps: number;
  totalSteps: number;
  percentComplete: number;
  isFinished: boolean;
  isContainer: boolean;
  taskClass: string;
  created: string;
  modified: string;
  attempts?: number;
  children?: Status[];
  artifacts?: { id: string; name: string; text: string; url: string; fileUrl: string | null }[];
}
