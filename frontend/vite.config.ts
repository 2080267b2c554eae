/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The bundle Django serves at /app/ (webclient/templates/webclient/app.html reads the manifest for the file names).
// `npm run build` writes it into the Django app's static directory, where it is committed; `make frontend-check`
// builds again into a temporary directory and fails when the two differ (docs/decisions/0016-web-client.md).
export default defineConfig({
  plugins: [react()],
  base: "./",
  build: {
    outDir: "../webclient/static/webclient",
    emptyOutDir: true,
    manifest: true,
    sourcemap: false,
    target: "es2020",
    rollupOptions: {
      input: "src/main.tsx",
    },
  },
  server: {
    // `npm run dev` beside `make dev`: the API comes from Django.
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["src/test/setup.ts"],
    restoreMocks: true,
  },
});
