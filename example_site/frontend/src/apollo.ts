// Apollo Client 4: HTTP (with Django's CSRF token) for queries and mutations, graphql-ws for
// subscriptions. The session cookie authenticates both.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";

export type ConnectionState = "connecting" | "connected" | "reconnecting";

function csrfToken(): string {
  return document.cookie.match(/(?:^|; )csrftoken=([^;]+)/)?.[1] ?? "";
}

export function createApollo(onConnection: (state: ConnectionState) => void): ApolloClient {
  let everConnected = false;
  const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql/`;
  const ws = createClient({
    url: wsUrl,
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: async (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * 2 ** retries))),
    on: {
      connecting: () => onConnection(everConnected ? "reconnecting" : "connecting"),
      connected: () => {
        everConnected = true;
        onConnection("connected");
      },
      closed: () => onConnection(everConnected ? "reconnecting" : "connecting"),
    },
  });
  const http = new HttpLink({
    uri: "/graphql/",
    credentials: "same-origin",
    fetch: (input, init) =>
      fetch(input, { ...init, headers: { ...(init?.headers ?? {}), "X-CSRFToken": csrfToken() } }),
  });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new GraphQLWsLink(ws),
    http,
  );
  return new ApolloClient({ link, cache: new InMemoryCache() });
}
