// How the task list follows events in Apollo's normalized cache. A status is one cache object
// (keyed by its global id) wherever it appears, so writing an event's status updates it in place
// everywhere: the list only changes for a task it lacks (a new one, at its place in the
// newest-first order) or one that was deleted.
import type { ApolloCache } from "@apollo/client";

import type { TaskFieldsFragment, TaskListQuery, UserTaskStatusFilter } from "./gql/graphql";
import { TaskFields, TaskList } from "./operations";

export const PAGE_SIZE = 20;
// the list and its subscription select the same tasks: the viewer's top-level ones
export const LIST_FILTERS: UserTaskStatusFilter = { topLevel: true };
export const LIST_VARIABLES = { filters: LIST_FILTERS, first: PAGE_SIZE };

// Deleted here: an event published before the delete (its cancel) may still be on its way.
const deleted = new Set<string>();

/** The list with `status` added, or undefined when nothing changes. */
export function withStatus(list: TaskListQuery, status: TaskFieldsFragment): TaskListQuery | undefined {
  const connection = list.userTaskStatuses;
  if (deleted.has(status.id) || connection.edges.some((edge) => edge.node.id === status.id)) return undefined;
  const created = Date.parse(status.created);
  let at = connection.edges.findIndex((edge) => Date.parse(edge.node.created) < created);
  if (at === -1) {
    if (connection.pageInfo.hasNextPage) return undefined; // its place is on a page not loaded yet
    at = connection.edges.length;
  }
  const edge = { __typename: "UserTaskStatusEdge" as const, node: status };
  return {
    ...list,
    userTaskStatuses: {
      ...connection,
      totalCount: connection.totalCount + 1,
      edges: [...connection.edges.slice(0, at), edge, ...connection.edges.slice(at)],
    },
  };
}

/** After a mutation that started a task: show it at once, before its first event arrives. */
export function addToList(cache: ApolloCache, status: TaskFieldsFragment): void {
  cache.updateQuery({ query: TaskList, variables: LIST_VARIABLES }, (list) =>
    list ? withStatus(list, status) : undefined,
  );
}

// The newest state the list subscription brought of each task: a page read before it came must
// not undo it (Apollo merges a query's result over the cached object field by field).
const latest = new Map<string, TaskFieldsFragment>();

/** A status from the list subscription: into the cache unless the cache has a newer state (a
 * replay repeats what came live: the higher `seq` wins), and into the list if it lacks it. */
export function changed(cache: ApolloCache, status: TaskFieldsFragment): void {
  if (deleted.has(status.id)) return;
  const known = latest.get(status.id);
  if (!known || known.seq < status.seq) latest.set(status.id, status);
  const id = cache.identify(status);
  const cached = cache.readFragment({ fragment: TaskFields, id });
  const newest = cached && cached.seq > status.seq ? cached : status;
  if (newest === status) cache.writeFragment({ fragment: TaskFields, id, data: status });
  addToList(cache, newest);
}

/** After "Load more": a task the page read before a change or a deletion that reached the page
 * first gets its newest state back, or goes again. */
export function settlePage(cache: ApolloCache, page: TaskFieldsFragment[]): void {
  for (const status of page) {
    const known = latest.get(status.id);
    if (deleted.has(status.id)) {
      deleted.delete(status.id); // forget it again: the page brought it back
      forget(cache, status);
    } else if (known && known.seq > status.seq) {
      cache.writeFragment({ fragment: TaskFields, id: cache.identify(known), data: known });
    }
  }
}

/** After a delete: drop the object; lists and trees skip references to it from then on. */
export function forget(cache: ApolloCache, status: Pick<TaskFieldsFragment, "id">): void {
  deleted.add(status.id);
  const id = cache.identify({ __typename: "UserTaskStatus", id: status.id });
  if (!cache.evict({ id })) return;
  cache.modify({
    fields: {
      userTaskStatuses: (connection, { readField }) => {
        const total = readField<number>("totalCount", connection);
        return total === undefined ? connection : { ...connection, totalCount: Math.max(0, total - 1) };
      },
    },
  });
  cache.gc();
}
