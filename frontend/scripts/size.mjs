// Reports the gzipped JavaScript the sign-in route needs (the entry chunk, every chunk it imports
// statically, and the sign-in page's own chunk with its static imports) and fails over the budget.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const BUDGET = 250 * 1024;
const SIGN_IN_SOURCE = "src/features/auth/sign-in-page.tsx";
const dist = fileURLToPath(new URL("../dist/", import.meta.url));
const manifestPath = `${dist}.vite/manifest.json`;

if (!existsSync(manifestPath)) {
  console.error(`no ${manifestPath}: run \`npm run build\` first`);
  process.exit(1);
}
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const entries = Object.entries(manifest).filter(([, chunk]) => chunk.isEntry);
if (entries.length !== 1) {
  console.error(`expected one entry chunk in the manifest, found ${entries.length}`);
  process.exit(1);
}
if (!manifest[SIGN_IN_SOURCE]) {
  console.error(`the sign-in page (${SIGN_IN_SOURCE}) is not its own chunk: is it lazy-loaded?`);
  process.exit(1);
}

const needed = new Set();
const visit = (key) => {
  if (needed.has(key)) return;
  needed.add(key);
  for (const imported of manifest[key].imports ?? []) visit(imported);
};
visit(entries[0][0]);
visit(SIGN_IN_SOURCE);

let total = 0;
const rows = [];
for (const key of needed) {
  const file = manifest[key].file;
  if (!file.endsWith(".js")) continue;
  const bytes = gzipSync(readFileSync(dist + file), { level: 9 }).length;
  total += bytes;
  rows.push([file, bytes]);
}
rows.sort((a, b) => b[1] - a[1]);
for (const [file, bytes] of rows) console.log(`${(bytes / 1024).toFixed(1).padStart(8)} KB  ${file}`);
const verdict = total <= BUDGET ? "within" : "OVER";
console.log(
  `sign-in route: ${(total / 1024).toFixed(1)} KB of gzipped JS (${total} bytes), ${verdict} the ${BUDGET / 1024} KB budget`,
);
if (total > BUDGET) process.exit(1);
