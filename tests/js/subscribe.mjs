// Subscribe with the graphql-ws client (what Apollo Client's GraphQLWsLink uses) and print each
// result as one JSON line; exit 0 when the server completes the subscription.
// usage: node subscribe.mjs <ws-url> <origin> <cookie> <query> <variables-json>
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, origin, cookie, query, variables] = process.argv.slice(2);

class BrowserLikeWebSocket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, { origin, headers: { Cookie: cookie } });
  }
}

const client = createClient({ url, webSocketImpl: BrowserLikeWebSocket, retryAttempts: 0, lazy: false });
const timer = setTimeout(() => { console.error("timed out"); process.exit(3); }, 60000);

client.subscribe(
  { query, variables: JSON.parse(variables) },
  {
    next: (result) => console.log(JSON.stringify(result)),
    error: (error) => { console.error(JSON.stringify(error?.message ?? error)); process.exit(2); },
    complete: () => { clearTimeout(timer); client.dispose(); console.log(JSON.stringify({ complete: true })); process.exit(0); },
  },
);
