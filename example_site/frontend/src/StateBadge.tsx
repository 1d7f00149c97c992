import type { UserTaskState } from "./gql/graphql";

const LABELS: Record<UserTaskState, string> = {
  PENDING: "Pending",
  IN_PROGRESS: "In progress",
  RETRYING: "Retrying",
  SUCCEEDED: "Succeeded",
  FAILED: "Failed",
  CANCELED: "Canceled",
};

/** The task's own progress text ("Exporting row 3"), or null when it only names the state. */
export function progressText(task: { state: UserTaskState; stateText: string }): string | null {
  return task.stateText.toLowerCase() === LABELS[task.state].toLowerCase() ? null : task.stateText;
}

export function StateBadge({ state }: { state: UserTaskState }) {
  return (
    <span className={`badge state-${state.toLowerCase()}`} data-state={state}>
      {LABELS[state]}
    </span>
  );
}
