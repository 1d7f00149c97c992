import type { UserTaskState } from "./gql/graphql";

const LABELS: Record<UserTaskState, string> = {
  PENDING: "Pending",
  IN_PROGRESS: "In progress",
  RETRYING: "Retrying",
  SUCCEEDED: "Succeeded",
  FAILED: "Failed",
  CANCELED: "Canceled",
};

export function StateBadge({ state }: { state: UserTaskState }) {
  return (
    <span className={`badge state-${state.toLowerCase()}`} data-state={state}>
      {LABELS[state]}
    </span>
  );
}
