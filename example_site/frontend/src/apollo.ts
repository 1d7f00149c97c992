// Apollo Client 4 for a Django site: queries and mutations over HTTP with Django's CSRF token,
// subscriptions over graphql-ws (the session cookie authenticates both), and one normalized cache
// in which every status is one object, keyed by the global id the API gives it.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { relayStylePagination } from "@apollo/client/utilities";
import { OperationTypeNode } from "graphql";
import { createClient } from "graphql-ws";
import type { Client } from "graphql-ws";

import { createConnection } from "./connection";
import type { Connection } from "./connection";

function csrfToken(): string {
  return document.cookie.match(/(?:^|; )csrftoken=([^;]+)/)?.[1] ?? "";
}

export function createApollo(): { client: ApolloClient; connection: Connection; socket: Client } {
  const connection = createConnection();
  let everConnected = false;
  const ws = createClient({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql/`,
    lazy: false, // connect at once, so the indicator is right before the first subscription
    // a server restart or a lost network: retry for ever, backing off to 5 s; the operations
    // that were running are subscribed again (the list restarts its own: src/listChanges.ts)
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * 2 ** retries))),
    on: {
      connecting: () => connection.set(everConnected ? "reconnecting" : "connecting"),
      connected: () => {
        everConnected = true;
        connection.set("connected");
      },
      closed: () => connection.set(everConnected ? "reconnecting" : "connecting"),
    },
  });

  const http = ApolloLink.from([
    // Django checks CSRF on every POST: send the cookie's token in the header it reads
    new SetContextLink(({ headers }) => ({ headers: { ...headers, "X-CSRFToken": csrfToken() } })),
    new HttpLink({ uri: "/graphql/", credentials: "same-origin" }),
  ]);
  const link = ApolloLink.split(
    ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
    new GraphQLWsLink(ws),
    http,
  );

  const cache = new InMemoryCache({
    typePolicies: {
      Query: {
        fields: {
          // one list per filter and ordering; `after` pages are appended to it ("Load more")
          userTaskStatuses: relayStylePagination(["filters", "ordering"]),
        },
      },
    },
  });
  const client = new ApolloClient({ link, cache });
  return { client, connection, socket: ws };
}
