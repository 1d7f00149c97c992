// The demo SPA: my tasks with live progress, a task page with children and artifacts, start,
// cancel and delete buttons, and a connection indicator that recovers after a server restart.
import "./style.css";

import type { ApolloClient } from "@apollo/client";
import type { Subscription } from "rxjs";

import { createApollo } from "./apollo";
import {
  CANCEL, DELETE, START_CANVAS, START_EXPORT, START_TASK, TASK_DETAIL, TASK_LIST, TASK_LIST_CHANGES,
} from "./operations";
import type { Status } from "./operations";
import { badge, duration, el, progressBar } from "./view";

const app = document.getElementById("app")!;
const connection = el("span", { id: "connection", role: "status", "data-state": "connecting" }, "Connecting…");
const main = el("main");
let tasks: Status[] = [];
let detail: Subscription | null = null;

const client: ApolloClient = createApollo((state) => {
  connection.dataset.state = state;
  connection.textContent = { connecting: "Connecting…", connected: "Live", reconnecting: "Reconnecting…" }[state];
  if (state === "connected") void refreshList(); // after a restart the list is right again without a reload
});

async function act(operation: Promise<unknown>): Promise<void> {
  try {
    await operation;
  } catch (error) {
    alert(String(error));
  }
  await refreshList();
}

function taskRow(status: Status): HTMLElement {
  const actions = el("span", { class: "actions" });
  if (!status.isFinished) {
    const cancel = el("button", { type: "button", "data-action": "cancel" }, "Cancel");
    cancel.onclick = () => act(client.mutate({ mutation: CANCEL, variables: { uuid: status.uuid } }));
    actions.append(cancel);
  } else {
    const remove = el("button", { type: "button", "data-action": "delete" }, "Delete");
    remove.onclick = () => act(client.mutate({ mutation: DELETE, variables: { uuid: status.uuid } }));
    actions.append(remove);
  }
  return el(
    "li",
    { class: "task", "data-uuid": status.uuid, "data-state": status.state },
    el("a", { href: `#/task/${status.uuid}`, class: "name" }, status.name),
    badge(status),
    progressBar(status),
    el("span", { class: "state-text" }, status.stateText),
    el("span", { class: "duration" }, duration(status)),
    actions,
  );
}

const listView = el("section", { id: "list-view" });
const listBody = el("div");

function renderList(): void {
  if (location.hash.startsWith("#/task/")) return;
  if (!listView.firstChild) listView.append(el("h2", {}, "My tasks"), startForm(), listBody);
  if (main.firstChild !== listView) main.replaceChildren(listView); // the form keeps what the user typed
  const list = el("ul", { id: "tasks", "aria-live": "polite" }, ...tasks.map(taskRow));
  const empty = tasks.length ? null : el("p", { id: "no-tasks" }, "No tasks yet: start one above.");
  listBody.replaceChildren(...[empty, list].filter((n) => n !== null));
}

function startForm(): HTMLElement {
  const steps = el("input", { id: "steps", type: "number", min: "1", max: "1000", value: "20" });
  const seconds = el("input", { id: "step-seconds", type: "number", min: "0", max: "10", step: "any", value: "0.5" });
  const failAt = el("input", { id: "fail-at-step", type: "number", min: "1", placeholder: "never" });
  const start = el("button", { type: "submit", id: "start" }, "Start demo task");
  const form = el(
    "form",
    { id: "start-form" },
    el("label", { for: "steps" }, "Steps ", steps),
    el("label", { for: "step-seconds" }, "Seconds per step ", seconds),
    el("label", { for: "fail-at-step" }, "Fail at step ", failAt),
    start,
  );
  form.onsubmit = (event) => {
    event.preventDefault();
    const variables = {
      steps: Number(steps.value),
      stepSeconds: Number(seconds.value),
      failAtStep: failAt.value ? Number(failAt.value) : null,
    };
    void act(client.mutate({ mutation: START_TASK, variables }));
  };
  const more = el("div", { class: "more" });
  for (const kind of ["chain", "group", "chord"]) {
    const button = el("button", { type: "button", "data-canvas": kind }, `Start a ${kind}`);
    button.onclick = () => act(client.mutate({ mutation: START_CANVAS, variables: { kind } }));
    more.append(button);
  }
  const exportButton = el("button", { type: "button", id: "start-export" }, "Start a CSV export");
  exportButton.onclick = () => act(client.mutate({ mutation: START_EXPORT, variables: { rows: 20 } }));
  more.append(exportButton);
  return el("section", { class: "start" }, form, more);
}

async function refreshList(): Promise<void> {
  const { data } = await client.query({ query: TASK_LIST, fetchPolicy: "network-only" });
  tasks = (data as { userTaskStatuses: { edges: { node: Status }[] } }).userTaskStatuses.edges.map((e) => e.node);
  renderList();
}

function watchList(): void {
  client.subscribe({ query: TASK_LIST_CHANGES }).subscribe({
    next: ({ data }) => {
      const changed = (data as { userTaskStatuses: Status } | undefined)?.userTaskStatuses;
      if (!changed) return;
      const index = tasks.findIndex((task) => task.uuid === changed.uuid);
      if (index === -1) tasks = [changed, ...tasks];
      else tasks[index] = { ...tasks[index], ...changed };
      renderList();
    },
    error: () => undefined, // graphql-ws reconnects; refreshList runs on "connected"
  });
}

function showTask(uuid: string): void {
  detail?.unsubscribe();
  main.replaceChildren(el("p", {}, "Loading…"));
  detail = client.subscribe({ query: TASK_DETAIL, variables: { uuid } }).subscribe({
    next: ({ data, error }) => {
      const status = (data as { userTaskStatus: Status } | undefined)?.userTaskStatus;
      if (!status) {
        main.replaceChildren(el("p", { role: "alert" }, error ? String(error) : "Task not found."));
        return;
      }
      const artifacts = el("ul", { id: "artifacts" }, ...(status.artifacts ?? []).map((artifact) =>
        el("li", { class: "artifact", "data-name": artifact.name },
          el("strong", {}, artifact.name), " ",
          artifact.fileUrl ? el("a", { href: artifact.fileUrl, download: "" }, "Download file") : null,
          artifact.url ? el("a", { href: artifact.url, rel: "noopener" }, artifact.url) : null,
          artifact.text ? el("pre", {}, artifact.text) : null),
      ));
      const children = el("ul", { id: "children" }, ...(status.children ?? []).map(taskRow));
      const parts = [
        el("p", {}, el("a", { href: "#/" }, "← My tasks")),
        el("ul", { id: "task" }, taskRow(status)),
        el("p", {}, `Attempts: ${status.attempts ?? 1} · ${status.taskClass}`),
        status.isContainer ? el("h3", {}, "Children") : null,
        status.isContainer ? children : null,
        el("h3", {}, "Artifacts"),
        artifacts,
      ];
      main.replaceChildren(...parts.filter((n) => n !== null));
    },
    error: (error) => main.replaceChildren(el("p", { role: "alert" }, String(error))),
  });
}

function route(): void {
  const match = location.hash.match(/^#\/task\/([0-9a-f-]+)$/);
  if (match) showTask(match[1]);
  else {
    detail?.unsubscribe();
    detail = null;
    renderList();
  }
}

const user = document.body.dataset.username ?? "";
app.replaceChildren(
  el("header", {}, el("h1", {}, "User tasks"), el("span", { class: "user" }, user), connection),
  main,
);
window.addEventListener("hashchange", route);
setInterval(() => tasks.some((task) => !task.isFinished) && renderList(), 1000);
watchList();
void refreshList().then(route);
