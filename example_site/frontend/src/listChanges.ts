// The list's subscription: every change committed after the list's watermark, deletions included,
// and no gap across reconnects. graphql-ws subscribes running operations again with the variables
// they started with, so whenever the socket closes the subscription is started anew from the newest
// watermark instead; one the server can no longer resume from (WATERMARK_EXPIRED) reloads the list.
import type { ApolloClient } from "@apollo/client";
import { useApolloClient } from "@apollo/client/react";
import type { Client } from "graphql-ws";
import { createContext, useContext, useEffect } from "react";
import type { Subscription } from "rxjs";

import { changed, forget, LIST_FILTERS } from "./cache";
import { errorCode, useReport } from "./notices";
import { TaskListChanges } from "./operations";

/** The websocket client, for its `closed` event. */
export const Socket = createContext<Client | null>(null);

const RETRY_MS = 5000;

// Every change up to this watermark is in the cache: where the list resumes, after a reconnect and
// when the list is shown again (Apollo keeps the list it read, the cache what was applied to it).
let resumeFrom: string | undefined;

interface Follow {
  client: ApolloClient;
  socket: Client;
  since: string;
  reload: () => Promise<string>; // reads the list again; resolves to its watermark
  report: (error: unknown) => void;
}

/** Applies the list's changes from `since` on to the cache until the returned function is called. */
export function followList({ client, socket, since, reload, report }: Follow): () => void {
  let active: Subscription | undefined;
  let stopped = false;
  let reloading = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  resumeFrom = since;

  function start(): void {
    active?.unsubscribe();
    clearTimeout(retry);
    const variables = { filters: LIST_FILTERS, since: resumeFrom };
    // no-cache: each status goes into the cache through `changed`, which keeps the newest (seq)
    const subscription: Subscription = client
      .subscribe({ query: TaskListChanges, variables, fetchPolicy: "no-cache", context: { queryDeduplication: false } })
      .subscribe(({ data, error }) => {
        if (subscription !== active) return; // a message of a subscription already replaced
        if (error) return failed(error);
        const event = data?.userTaskStatusChanges;
        if (event?.kind === "CHANGED" && event.status) changed(client.cache, event.status);
        if (event?.kind === "DELETED" && event.deletedId) forget(client.cache, { id: event.deletedId });
        // every message carries the watermark to resume from once it is applied (a replay's
        // changes carry the one it started from: a socket lost halfway resumes before them)
        if (event) resumeFrom = event.watermark;
      });
    active = subscription;
  }

  function failed(error: unknown): void {
    active?.unsubscribe();
    active = undefined;
    if (errorCode(error) === "WATERMARK_EXPIRED") {
      reloadList();
    } else {
      report(error);
      retry = setTimeout(start, RETRY_MS);
    }
  }

  function reloadList(): void {
    reloading = true;
    reload().then(
      (watermark) => {
        reloading = false;
        resumeFrom = watermark;
        if (!stopped) start();
      },
      (error: unknown) => {
        report(error);
        if (!stopped) retry = setTimeout(reloadList, RETRY_MS);
      },
    );
  }

  // The close comes after the socket's last message: every change applied by then stays applied.
  const unlisten = socket.on("closed", () => {
    if (!reloading) start();
  });
  start();
  return () => {
    stopped = true;
    unlisten();
    clearTimeout(retry);
    active?.unsubscribe();
  };
}

/** Follows the list once it has loaded (its first watermark); `reload` refetches it. */
export function useListChanges(watermark: string | undefined, reload: () => Promise<string>): void {
  const client = useApolloClient();
  const socket = useContext(Socket);
  const report = useReport();
  const loaded = watermark !== undefined;
  useEffect(() => {
    if (!loaded || !socket) return;
    // once per mount: later watermarks come with the subscription's messages
    return followList({ client, socket, since: resumeFrom ?? watermark, reload, report });
  }, [client, socket, report, loaded]);
}
