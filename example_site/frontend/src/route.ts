// Two pages behind the hash (Django serves the SPA at "/" only): the list, and one task.
import { useSyncExternalStore } from "react";

export type Route = { page: "list" } | { page: "task"; uuid: string };

function subscribe(listener: () => void): () => void {
  window.addEventListener("hashchange", listener);
  return () => window.removeEventListener("hashchange", listener);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => location.hash);
  const match = hash.match(/^#\/task\/([0-9a-f-]{36})$/i);
  return match ? { page: "task", uuid: match[1].toLowerCase() } : { page: "list" };
}

export const listHref = "#/";
export const taskHref = (uuid: string) => `#/task/${uuid}`;
