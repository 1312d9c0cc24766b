// Writes a brotli (`.br`) and a gzip (`.gz`) copy next to every compressible file of the build, so
// the server sends the variant a browser accepts without compressing anything per request. It runs
// last in `npm run build`, over the whole of dist/, after every Vite build (the app and any other
// bundle written into the same directory). A copy is kept only when it is smaller than the file;
// copies whose file no longer exists are removed. Node's own zlib: no dependency.
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";

// Text formats and the binary ones that compress well; images, fonts in woff2 and the like are
// compressed already. backend/opmaestro/core/spa.py serves the variants of these same extensions.
export const COMPRESSIBLE = new Set([
  ".js",
  ".mjs",
  ".css",
  ".html",
  ".svg",
  ".json",
  ".webmanifest",
  ".txt",
  ".xml",
  ".map",
  ".wasm",
  ".ico",
]);
const VARIANTS = [".br", ".gz"];

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

async function* files(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    // .vite/ holds the build manifest, read by scripts, not by browsers.
    if (entry.isDirectory() && !entry.name.startsWith(".")) yield* files(full);
    else if (entry.isFile()) yield full;
  }
}

async function exists(file) {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function compress(file) {
  const data = await readFile(file);
  const text = path.extname(file) !== ".wasm" && path.extname(file) !== ".ico";
  const [br, gz] = await Promise.all([
    brotli(data, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_MODE]: text ? constants.BROTLI_MODE_TEXT : constants.BROTLI_MODE_GENERIC,
        [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    }),
    gzipAsync(data, { level: constants.Z_BEST_COMPRESSION }),
  ]);
  const sizes = { raw: data.length, br: null, gz: null };
  for (const [suffix, body, key] of [
    [".br", br, "br"],
    [".gz", gz, "gz"],
  ]) {
    if (body.length < data.length) {
      await writeFile(file + suffix, body);
      sizes[key] = body.length;
    } else {
      await rm(file + suffix, { force: true });
    }
  }
  return sizes;
}

export async function precompress(dist) {
  const originals = [];
  for await (const file of files(dist)) {
    const variant = VARIANTS.find((suffix) => file.endsWith(suffix));
    if (variant) {
      const original = file.slice(0, -variant.length);
      if (!(await exists(original))) await rm(file);
    } else if (COMPRESSIBLE.has(path.extname(file).toLowerCase())) {
      originals.push(file);
    }
  }
  const results = [];
  // A few at a time: brotli at its best quality is CPU-bound and the zlib pool has four threads.
  for (let i = 0; i < originals.length; i += 4) {
    const batch = originals.slice(i, i + 4);
    const sizes = await Promise.all(batch.map(compress));
    batch.forEach((file, j) => results.push({ file: path.relative(dist, file), ...sizes[j] }));
  }
  return results;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dist = path.resolve(process.argv[2] ?? fileURLToPath(new URL("../dist/", import.meta.url)));
  if (!(await exists(path.join(dist, "index.html")))) {
    console.error(`no ${path.join(dist, "index.html")}: run the Vite build first`);
    process.exit(1);
  }
  const results = await precompress(dist);
  const raw = results.reduce((sum, row) => sum + row.raw, 0);
  const br = results.reduce((sum, row) => sum + (row.br ?? row.raw), 0);
  const gz = results.reduce((sum, row) => sum + (row.gz ?? row.raw), 0);
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
  console.log(
    `precompressed ${results.length} files: ${kb(raw)} raw, ${kb(gz)} gzip, ${kb(br)} brotli (dist/**/*.gz, *.br)`,
  );
}
