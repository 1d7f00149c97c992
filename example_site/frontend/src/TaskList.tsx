// The list: one query (with the watermark it was read at), kept live by the list subscription
// from that watermark on through the normalized cache (src/listChanges.ts).
import { useApolloClient, useQuery } from "@apollo/client/react";

import { CancelButton, DeleteButton } from "./actions";
import { LIST_VARIABLES, PAGE_SIZE, settlePage } from "./cache";
import type { TaskFieldsFragment } from "./gql/graphql";
import { useListChanges } from "./listChanges";
import { useReport } from "./notices";
import { TaskList as TaskListQuery } from "./operations";
import { ProgressBar } from "./ProgressBar";
import { taskHref } from "./route";
import { StartForm } from "./StartForm";
import { progressText, StateBadge } from "./StateBadge";
import { elapsed, formatDuration, useNow } from "./time";

export function TaskList() {
  const report = useReport();
  const client = useApolloClient();
  const { data, error, refetch, fetchMore, loading } = useQuery(TaskListQuery, {
    variables: LIST_VARIABLES,
  });
  // after WATERMARK_EXPIRED: the list read again, to be followed from its new watermark
  const reload = async () => {
    const { data: again } = await refetch();
    if (!again) throw new Error("the list was not read again");
    return again.userTaskStatuses.watermark;
  };
  useListChanges(data?.userTaskStatuses.watermark, reload);

  const connection = data?.userTaskStatuses;
  return (
    <>
      <StartForm />
      <section aria-labelledby="tasks-heading">
        <h3 id="tasks-heading">
          Tasks{" "}
          {connection && (
            <span className="count">
              ({connection.edges.length} of {connection.totalCount})
            </span>
          )}
        </h3>
        {error && <p role="alert">The list could not be loaded: {error.message}</p>}
        {connection && connection.edges.length === 0 && (
          <p id="no-tasks">No tasks yet: start one above.</p>
        )}
        {!connection && !error && <p>Loading…</p>}
        <ul id="tasks" className="tasks">
          {connection?.edges.map(({ node }) => <TaskRow key={node.id} task={node} />)}
        </ul>
        {connection?.pageInfo.hasNextPage && (
          <button type="button" id="load-more" disabled={loading}
            onClick={() =>
              fetchMore({ variables: { first: PAGE_SIZE, after: connection.pageInfo.endCursor } })
                .then(({ data: more }) =>
                  settlePage(client.cache, more?.userTaskStatuses.edges.map((edge) => edge.node) ?? []),
                )
                .catch(report)
            }>
            Load more
          </button>
        )}
      </section>
    </>
  );
}

function TaskRow({ task }: { task: TaskFieldsFragment }) {
  const now = useNow(!task.isFinished);
  return (
    <li className="task" data-uuid={task.uuid} data-state={task.state}>
      <a href={taskHref(task.uuid)} className="name">
        {task.name}
      </a>
      <StateBadge state={task.state} />
      <ProgressBar label={task.name} percent={task.percentComplete} state={task.state} />
      <span className="state-text">{progressText(task)}</span>
      <span className="duration" title={task.isFinished ? "How long it ran" : "Running for"}>
        {formatDuration(elapsed(task, now))}
      </span>
      <span className="actions">
        {task.isFinished ? <DeleteButton task={task} /> : <CancelButton task={task} />}
      </span>
    </li>
  );
}
