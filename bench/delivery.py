"""What the build sends over the wire: `make bench` prints it before the load runs.

- The cookie banner other sites include, `banner.js` plus `banner.css`: raw, gzipped and brotli
  sizes (target: at most 20 KB gzipped), when the build has them.
- The sign-in page's first load, estimated from the build: index.html, the entry chunk and every
  chunk it imports statically, the sign-in page's chunk and its imports, and their CSS, as the
  precompressed copies the server sends (`frontend/scripts/precompress.mjs`). The browser test
  tests/e2e/test_delivery.py measures the real figure, with headers and API answers.

Sizes, not timings: the same build gives the same figures on any machine.
"""

import argparse
import gzip
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "frontend" / "dist"
BANNER_FILES = ("banner.js", "banner.css")
BANNER_GZIP_TARGET = 20 * 1024
SIGN_IN_SOURCE = "src/features/auth/sign-in-page.tsx"


@dataclass(frozen=True)
class Sizes:
    raw: int
    gzip: int
    brotli: int | None  # None when the build left no .br copy (Python has no brotli of its own)

    def __add__(self, other: "Sizes") -> "Sizes":
        brotli = None if self.brotli is None or other.brotli is None else self.brotli + other.brotli
        return Sizes(self.raw + other.raw, self.gzip + other.gzip, brotli)


NOTHING = Sizes(0, 0, 0)


def precompressed(dist: Path) -> bool:
    return any((dist / f"index.html{suffix}").is_file() for suffix in (".br", ".gz"))


def sizes(file: Path, *, copies: bool) -> Sizes:
    """The file's size raw, gzipped and in brotli. With `copies` (a precompressed build), as the
    server sends it: its .gz and .br copies, or the file itself where the build kept no smaller
    copy; without, gzip -9 now and no brotli figure (Python has no brotli of its own)."""
    data = file.read_bytes()
    if not copies:
        return Sizes(len(data), min(len(gzip.compress(data, 9, mtime=0)), len(data)), None)
    gz_copy, br_copy = file.with_name(file.name + ".gz"), file.with_name(file.name + ".br")
    gzipped = gz_copy.stat().st_size if gz_copy.is_file() else len(data)
    return Sizes(len(data), gzipped, br_copy.stat().st_size if br_copy.is_file() else len(data))


def banner_sizes(dist: Path) -> Sizes | None:
    files = [dist / name for name in BANNER_FILES]
    if not all(file.is_file() for file in files):
        return None
    return sum((sizes(file, copies=precompressed(dist)) for file in files), NOTHING)


def sign_in_files(dist: Path) -> list[str]:
    """The files of the sign-in page's first load, by the Vite manifest (as scripts/size.mjs)."""
    manifest = json.loads((dist / ".vite" / "manifest.json").read_text())
    entries = [key for key, chunk in manifest.items() if chunk.get("isEntry")]
    if len(entries) != 1 or SIGN_IN_SOURCE not in manifest:
        raise ValueError(f"expected one entry chunk and a chunk for {SIGN_IN_SOURCE} in the manifest")
    needed: list[str] = []

    def visit(key: str) -> None:
        if key in needed:
            return
        needed.append(key)
        for imported in manifest[key].get("imports", []):
            visit(imported)

    visit(entries[0])
    visit(SIGN_IN_SOURCE)
    files = ["index.html"]  # then the entry chunk, its imports and the sign-in page's
    for key in needed:
        for file in [manifest[key]["file"], *manifest[key].get("css", [])]:
            if file not in files:
                files.append(file)
    return files


def kb(size: int | None) -> str:
    return "n/a" if size is None else f"{size / 1024:.1f} KB"


def report(dist: Path) -> list[str]:
    lines = []
    banner = banner_sizes(dist)
    if banner is None:
        lines.append(f"cookie banner: {' and '.join(BANNER_FILES)} not in {dist} (build the banner first)")
    else:
        verdict = "within" if banner.gzip <= BANNER_GZIP_TARGET else "OVER"
        lines.append(
            f"cookie banner (banner.js + banner.css): {kb(banner.raw)} raw, {kb(banner.gzip)} gzip, "
            f"{kb(banner.brotli)} brotli; {verdict} the {BANNER_GZIP_TARGET // 1024} KB gzip target"
        )
    if not (dist / ".vite" / "manifest.json").is_file():
        lines.append(f"sign-in first load: no build manifest in {dist} (make spa)")
        return lines
    files = sign_in_files(dist)
    entry = sizes(dist / files[1], copies=precompressed(dist))
    lines.append(
        f"entry chunk {files[1]}: {kb(entry.raw)} raw, {kb(entry.gzip)} gzip, {kb(entry.brotli)} brotli"
    )
    total = sum((sizes(dist / file, copies=precompressed(dist)) for file in files), NOTHING)
    lines.append(
        f"sign-in first load ({len(files)} files, bodies only): {kb(total.raw)} raw, {kb(total.gzip)} gzip, "
        f"{kb(total.brotli)} brotli (what a browser that accepts br receives)"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=DIST, help="the build (default: frontend/dist)")
    args = parser.parse_args()
    if not (args.dist / "index.html").is_file():
        sys.exit(f"no build in {args.dist}: run `make spa` first")
    print("\n".join(report(args.dist)), flush=True)


if __name__ == "__main__":
    main()
