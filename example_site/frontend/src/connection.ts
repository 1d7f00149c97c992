// The websocket's state as React reads it: graphql-ws's events write it, the header shows it.
import { useSyncExternalStore } from "react";

export type ConnectionState = "connecting" | "connected" | "reconnecting";

export interface Connection {
  get(): ConnectionState;
  set(state: ConnectionState): void;
  subscribe(listener: () => void): () => void;
}

export function createConnection(): Connection {
  let state: ConnectionState = "connecting";
  const listeners = new Set<() => void>();
  return {
    get: () => state,
    set(next) {
      if (next === state) return;
      state = next;
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function useConnectionState(connection: Connection): ConnectionState {
  return useSyncExternalStore(connection.subscribe, connection.get);
}
