// The page's frame: who is logged in, whether updates are live, and the page the hash names.
import type { Connection } from "./connection";
import { useConnectionState } from "./connection";
import { Notices } from "./notices";
import { useRoute } from "./route";
import { TaskList } from "./TaskList";
import { TaskPage } from "./TaskPage";

const CONNECTION_TEXT = { connecting: "Connecting…", connected: "Live", reconnecting: "Reconnecting…" };

export function App({ connection, username }: { connection: Connection; username: string }) {
  const state = useConnectionState(connection);
  const route = useRoute();
  return (
    <>
      <header>
        <h1>User tasks</h1>
        <span className="user">{username}</span>
        <span id="connection" role="status" data-state={state}>
          {CONNECTION_TEXT[state]}
        </span>
      </header>
      <main>
        <Notices>
          {route.page === "task" ? (
            <TaskPage key={route.uuid} uuid={route.uuid} />
          ) : (
            <>
              <h2>My tasks</h2>
              <TaskList />
            </>
          )}
        </Notices>
      </main>
    </>
  );
}
