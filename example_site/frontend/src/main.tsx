// The demo SPA: the viewer's tasks with live progress, a page per task (a canvas's tree, its
// artifacts), start, cancel and delete, and a connection indicator that recovers from restarts.
import "./style.css";

import { ApolloProvider } from "@apollo/client/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { createApollo } from "./apollo";
import { App } from "./App";
import { Socket } from "./listChanges";

const { client, connection, socket } = createApollo();
const root = document.getElementById("app");
if (!root) throw new Error("the page has no #app element");
createRoot(root).render(
  <StrictMode>
    <ApolloProvider client={client}>
      <Socket value={socket}>
        <App connection={connection} username={document.body.dataset.username ?? ""} />
      </Socket>
    </ApolloProvider>
  </StrictMode>,
);
