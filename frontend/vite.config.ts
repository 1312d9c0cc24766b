/// <reference types="vitest/config" />
import { copyFile, mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

// The API's /docs page loads Swagger UI from the build, never from a CDN: no third party learns
// who reads the docs. public/api-docs/init.js starts it.
const SWAGGER_UI_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"];

function swaggerUiAssets(): Plugin {
  return {
    name: "opmaestro-swagger-ui-assets",
    apply: "build",
    async writeBundle(options) {
      const source = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
      const target = path.join(options.dir ?? "dist", "api-docs");
      await mkdir(target, { recursive: true });
      await Promise.all(SWAGGER_UI_FILES.map((name) => copyFile(path.join(source, name), path.join(target, name))));
    },
  };
}

export default defineConfig({
  base: "/",
  plugins: [react(), swaggerUiAssets()],
  // "@/x" is src/x, for the build and for Vitest alike (tsconfig.app.json maps it for tsc).
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    // scripts/size.mjs reads the manifest to find what the sign-in route loads.
    manifest: true,
    // The CSP is script-src 'self': no inline module-preload polyfill.
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    restoreMocks: true,
    // A guard against a test that hangs, not a speed budget: a loaded two-core machine must not
    // turn a slow render into a failure.
    testTimeout: 60_000,
  },
});
