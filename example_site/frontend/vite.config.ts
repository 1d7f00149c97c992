import { defineConfig } from "vite";

// Built files go to dist/ with a manifest; Django serves them as static files under /static/.
export default defineConfig({
  base: "/static/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    manifest: true,
    rollupOptions: { input: "src/main.ts" },
  },
  server: {
    proxy: { "/graphql": { target: "http://127.0.0.1:8000", ws: true }, "/accounts": "http://127.0.0.1:8000" },
  },
});
