// Cancel and delete. Cancel shows its outcome before the server answers (an optimistic
// response, rolled back if the mutation fails); delete drops the task from the cache once the
// server has deleted it, and so from every list and tree that showed it.
import { useApolloClient, useMutation } from "@apollo/client/react";

import { forget } from "./cache";
import type { TaskFieldsFragment } from "./gql/graphql";
import { errorCode, useReport } from "./notices";
import { CancelTask, DeleteTask } from "./operations";

export function CancelButton({ task, label = "Cancel" }: { task: TaskFieldsFragment; label?: string }) {
  const report = useReport();
  const [cancel, { loading }] = useMutation(CancelTask, {
    variables: { uuid: task.uuid },
    optimisticResponse: {
      cancelUserTask: { ...task, state: "CANCELED", stateText: "Canceled", isFinished: true },
    },
  });
  return (
    <button type="button" data-action="cancel" disabled={loading} onClick={() => cancel().catch(report)}
      aria-label={`${label}: ${task.name}`}>
      {label}
    </button>
  );
}

export function DeleteButton({ task, onDeleted }: { task: TaskFieldsFragment; onDeleted?: () => void }) {
  const report = useReport();
  const { cache } = useApolloClient();
  const [remove, { loading }] = useMutation(DeleteTask, {
    variables: { uuid: task.uuid },
    update: (cache) => forget(cache, task),
  });
  const onClick = () =>
    remove().then(onDeleted, (error: unknown) => {
      if (errorCode(error) === "NOT_FOUND") forget(cache, task); // deleted elsewhere: gone here too
      report(error);
    });
  return (
    <button type="button" data-action="delete" disabled={loading} onClick={onClick}
      aria-label={`Delete: ${task.name}`}>
      Delete
    </button>
  );
}
