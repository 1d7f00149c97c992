// How the graphql-ws client (what Apollo Client's GraphQLWsLink and urql use) ends when the server
// refuses its socket: it subscribes with the most eager retries an application can configure (no
// wait, every close retried, up to <retries> times), then prints one JSON line
// {"connecting": <attempts made>, "error": {"code", "reason"}} <watch-ms> after the subscription failed.
// usage: node refused.mjs <ws-url> <origin> <cookie> <query> <connection-params-json> <retries> <watch-ms>
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, origin, cookie, query, connectionParams, retries, watchMs] = process.argv.slice(2);

class BrowserLikeWebSocket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, { origin, headers: { Cookie: cookie } });
  }
}

let connecting = 0;
const client = createClient({
  url,
  webSocketImpl: BrowserLikeWebSocket,
  connectionParams: JSON.parse(connectionParams),
  retryAttempts: Number(retries),
  retryWait: async () => {},
  shouldRetry: () => true,
  on: { connecting: () => { connecting += 1; } },
});
const timer = setTimeout(() => { console.error("timed out"); process.exit(3); }, 60000);

const report = (error) => setTimeout(() => {
  clearTimeout(timer);
  console.log(JSON.stringify({ connecting, error }));
  client.dispose();
  process.exit(0);
}, Number(watchMs));

client.subscribe(
  { query },
  {
    next: () => {},
    error: (error) => report({ code: error?.code ?? null, reason: error?.reason ?? String(error) }),
    complete: () => report(null),
  },
);
