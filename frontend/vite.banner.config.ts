// The standalone cookie banner for the marketing site: dist/banner.js (an IIFE, no React, no
// Mantine) and dist/banner.css, written next to the SPA's build without emptying dist and without
// a manifest, so the SPA's .vite/manifest.json (read by scripts/size.mjs) stays its own.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  publicDir: false,
  build: {
    outDir: "dist",
    emptyOutDir: false,
    manifest: false,
    copyPublicDir: false,
    target: "es2019",
    cssCodeSplit: false,
    lib: {
      entry: fileURLToPath(new URL("./src/features/cookies/banner/standalone.ts", import.meta.url)),
      name: "OpMaestroCookieBanner",
      formats: ["iife"],
      fileName: () => "banner.js",
      cssFileName: "banner",
    },
  },
});
