import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Built files go to dist/ with a manifest; Django serves them as static files under /static/
// (example_site/demo/views.py reads the manifest to find the entry's script and styles).
export default defineConfig({
  base: "/static/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    manifest: true,
    rollupOptions: { input: "src/main.tsx" },
  },
  server: {
    proxy: {
      "/graphql": { target: "http://127.0.0.1:8000", ws: true },
      "/accounts": "http://127.0.0.1:8000",
      "/user-tasks": "http://127.0.0.1:8000",
    },
  },
});
