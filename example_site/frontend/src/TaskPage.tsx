// One task: its live state, progress with the time left, facts, a canvas's tree and artifacts.
// The subscription keeps the task's cache objects current; the page reads them from the cache
// (useFragment), so an optimistic cancel and every child's event show here too.
import { useApolloClient, useFragment, useSubscription } from "@apollo/client/react";
import { useEffect, useRef } from "react";

import { CancelButton, DeleteButton } from "./actions";
import { Artifacts } from "./Artifacts";
import { forget } from "./cache";
import type { TaskPageFragment } from "./gql/graphql";
import { errorCode } from "./notices";
import { TaskFields, TaskPageFields, TaskPageLive } from "./operations";
import { ProgressBar } from "./ProgressBar";
import { listHref, taskHref } from "./route";
import { progressText, StateBadge } from "./StateBadge";
import { TaskTree } from "./TaskTree";
import { elapsed, formatDateTime, formatDuration, useNow, useTimeLeft } from "./time";

export function TaskPage({ uuid }: { uuid: string }) {
  const { cache } = useApolloClient();
  const live = useSubscription(TaskPageLive, {
    variables: { uuid },
    // the subscription ends after a finished state, or when the task is deleted
    onComplete: () => {
      const from = { __typename: "UserTaskStatus" as const, id: live.data?.userTaskStatus.id ?? "" };
      const last = cache.readFragment({ fragment: TaskFields, from }, false);
      if (last && !last.isFinished) forget(cache, last);
    },
  });
  const id = live.data?.userTaskStatus.id;
  const { data: task, complete } = useFragment({
    fragment: TaskPageFields,
    fragmentName: "TaskPage",
    from: id ? { __typename: "UserTaskStatus", id } : null,
  });

  let body;
  if (live.error) {
    const missing = errorCode(live.error) === "NOT_FOUND";
    body = <p role="alert">{missing ? "Task not found." : `The task could not be loaded: ${live.error.message}`}</p>;
  } else if (!id) {
    body = <p>Loading…</p>;
  } else if (!complete) {
    body = <p role="alert">This task was deleted.</p>;
  } else {
    body = <TaskDetails task={task} />;
  }
  return (
    <article className="task-page">
      <p>
        <a href={listHref}>← My tasks</a>
      </p>
      {body}
    </article>
  );
}

function TaskDetails({ task }: { task: TaskPageFragment }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [task.id]); // a new page: start reading at its title
  const running = !task.isFinished;
  const now = useNow(running);
  const timeLeft = useTimeLeft(task.completedSteps, task.totalSteps, running);
  const what = task.isContainer ? `all ${task.children.length} tasks of this canvas` : "this task";
  return (
    <>
      <h2 ref={heading} tabIndex={-1}>
        {task.name}
      </h2>
      <section id="task" className="summary" data-uuid={task.uuid} data-state={task.state}
        aria-label="Progress">
        <div className="summary-state">
          <StateBadge state={task.state} />
          <span className="state-text">{progressText(task)}</span>
        </div>
        <ProgressBar label={task.name} percent={task.percentComplete} state={task.state} large />
        <p className="progress-facts">
          <span className="steps">
            {task.completedSteps} of {task.totalSteps} steps
          </span>
          {running && (
            <span className="eta" aria-live="off">
              {timeLeft === null ? "Estimating the time left…" : `About ${formatDuration(timeLeft)} left`}
            </span>
          )}
        </p>
        <div className="actions">
          {running ? (
            <CancelButton task={task} label={task.isContainer ? "Cancel the whole canvas" : "Cancel"} />
          ) : (
            <DeleteButton task={task} onDeleted={() => location.assign(listHref)} />
          )}
          {running && <span className="hint">Cancels {what}.</span>}
        </div>
      </section>
      <dl className="facts">
        <dt>Attempts</dt>
        <dd id="attempts">{task.attempts}</dd>
        <dt>Created</dt>
        <dd>
          <time dateTime={task.created}>{formatDateTime(task.created)}</time>
        </dd>
        <dt>Started</dt>
        <dd id="started">
          {task.started ? (
            <time dateTime={task.started}>{formatDateTime(task.started)}</time>
          ) : task.isFinished ? (
            "Never"
          ) : (
            "Not yet"
          )}
        </dd>
        {task.finished && (
          <>
            <dt>Finished</dt>
            <dd id="finished">
              <time dateTime={task.finished}>{formatDateTime(task.finished)}</time>
            </dd>
          </>
        )}
        <dt>Last change</dt>
        <dd>
          <time dateTime={task.modified}>{formatDateTime(task.modified)}</time>
        </dd>
        <dt>{running ? "Running for" : "Ran for"}</dt>
        <dd>{formatDuration(elapsed(task, now))}</dd>
        <dt>Task</dt>
        <dd>
          <code>{task.taskClass}</code>
        </dd>
        {task.parent && (
          <>
            <dt>Part of</dt>
            <dd>
              <a href={taskHref(task.parent.uuid)}>{task.parent.name}</a>
            </dd>
          </>
        )}
      </dl>
      {task.isContainer && (
        <section aria-labelledby="children-heading">
          <h3 id="children-heading">Tasks of this canvas</h3>
          <TaskTree id="children" nodes={task.children} />
        </section>
      )}
      <section aria-labelledby="artifacts-heading">
        <h3 id="artifacts-heading">Artifacts</h3>
        <Artifacts artifacts={task.artifacts} />
      </section>
    </>
  );
}
