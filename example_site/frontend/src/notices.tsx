// One place that tells the user what went wrong, in words, with the API's error code.
import { CombinedGraphQLErrors } from "@apollo/client/errors";
import { createContext, useCallback, useContext, useState } from "react";
import type { ReactNode } from "react";

const Report = createContext<(error: unknown) => void>(() => undefined);

/** The `extensions.code` of a GraphQL error (docs/api.md lists them), if it is one. */
export function errorCode(error: unknown): string | undefined {
  if (!CombinedGraphQLErrors.is(error)) return undefined;
  const code = error.errors[0]?.extensions?.code;
  return typeof code === "string" ? code : undefined;
}

function describe(error: unknown): string {
  switch (errorCode(error)) {
    case "UNAUTHENTICATED":
      return "Your session has ended: log in again.";
    case "NOT_FOUND":
      return "That task no longer exists.";
    case "FORBIDDEN":
      return "You may not do that.";
    case "BAD_USER_INPUT": // a bound the server checks, or too many tasks still running: its
    case "TOO_MANY_TASKS": // message says which
      return CombinedGraphQLErrors.is(error) ? error.errors[0].message : "The request was refused.";
    default:
      return "Something went wrong; try again in a moment.";
  }
}

export function Notices({ children }: { children: ReactNode }) {
  const [message, setMessage] = useState<string | null>(null);
  const report = useCallback((error: unknown) => setMessage(describe(error)), []);
  return (
    <Report.Provider value={report}>
      {message && (
        <div id="notice" role="alert">
          <span>{message}</span>
          <button type="button" onClick={() => setMessage(null)}>
            Dismiss
          </button>
        </div>
      )}
      {children}
    </Report.Provider>
  );
}

export function useReport(): (error: unknown) => void {
  return useContext(Report);
}
