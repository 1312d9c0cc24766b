"""The build's precompression step (frontend/scripts/precompress.mjs) and the size report of `make bench`."""

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from bench import delivery

ROOT = Path(__file__).resolve().parents[1]
PRECOMPRESS = ROOT / "frontend" / "scripts" / "precompress.mjs"
NODE = shutil.which("node")
SCRIPT = b"export const words = 'the same words again and again';\n" * 400


def node(*args: str) -> str:
    if NODE is None:
        pytest.skip("node is not installed")
    return subprocess.run([NODE, *args], capture_output=True, text=True, check=True).stdout


def write(root: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)


class TestPrecompress:
    def test_every_compressible_file_gets_smaller_copies(self, tmp_dir):
        write(
            tmp_dir,
            {
                "index.html": b"<!doctype html><title>x</title>" + b"<p>the page</p>" * 100,
                "assets/index-a1.js": SCRIPT,
                "assets/index-a1.css": b".a { color: red }\n" * 300,
                "assets/tiny-b2.js": b"x=1",
                "assets/logo-c3.png": b"\x89PNG" + bytes(range(256)) * 10,
                "banner.js": SCRIPT,
                "banner.css": b".banner { color: black }\n" * 200,
                "assets/gone-d4.js.br": b"left from an older build",
                "assets/gone-d4.js.gz": b"left from an older build",
                ".vite/manifest.json": b"{}" + b" " * 2000,
            },
        )
        output = node(str(PRECOMPRESS), str(tmp_dir))
        assert "precompressed" in output
        for name in ("index.html", "assets/index-a1.js", "assets/index-a1.css", "banner.js", "banner.css"):
            original = (tmp_dir / name).read_bytes()
            gz, br = tmp_dir / f"{name}.gz", tmp_dir / f"{name}.br"
            assert gzip.decompress(gz.read_bytes()) == original, name
            assert br.stat().st_size < gz.stat().st_size < len(original), name
            decoded = node(
                "-e",
                "process.stdout.write(require('zlib').brotliDecompressSync("
                "require('fs').readFileSync(process.argv[1])).toString('latin1'))",
                str(br),
            )
            assert decoded.encode("latin-1") == original, name
        # Too small to gain, compressed already, stale, or not for browsers: no copies.
        assert sorted(p.name for p in (tmp_dir / "assets").iterdir() if p.suffix in (".br", ".gz")) == [
            "index-a1.css.br",
            "index-a1.css.gz",
            "index-a1.js.br",
            "index-a1.js.gz",
        ]
        assert sorted(p.name for p in (tmp_dir / ".vite").iterdir()) == ["manifest.json"]

    def test_a_second_run_leaves_the_same_copies(self, tmp_dir):
        write(tmp_dir, {"index.html": b"<p>page</p>" * 200, "assets/app-a1.js": SCRIPT})
        node(str(PRECOMPRESS), str(tmp_dir))
        first = {p.name: p.read_bytes() for p in tmp_dir.rglob("*") if p.is_file()}
        node(str(PRECOMPRESS), str(tmp_dir))
        assert {p.name: p.read_bytes() for p in tmp_dir.rglob("*") if p.is_file()} == first

    def test_refuses_a_directory_without_a_build(self, tmp_dir):
        if NODE is None:
            pytest.skip("node is not installed")
        result = subprocess.run([NODE, str(PRECOMPRESS), str(tmp_dir)], capture_output=True, text=True)
        assert result.returncode == 1 and "run the Vite build first" in result.stderr


MANIFEST = {
    "index.html": {
        "file": "assets/index-a1.js",
        "isEntry": True,
        "imports": ["_shared-b2.js"],
        "css": ["assets/index-a1.css"],
    },
    "_shared-b2.js": {"file": "assets/shared-b2.js"},
    "_other-c3.js": {"file": "assets/other-c3.js"},
    delivery.SIGN_IN_SOURCE: {
        "file": "assets/sign-in-d4.js",
        "isDynamicEntry": True,
        "imports": ["index.html", "_shared-b2.js"],
    },
    "src/features/admin/page.tsx": {
        "file": "assets/admin-e5.js",
        "isDynamicEntry": True,
        "imports": ["_other-c3.js"],
    },
}


@pytest.fixture
def dist(tmp_dir):
    files = {
        name: bytes([65 + n]) * 1000 * (n + 1)
        for n, name in enumerate(
            [
                "index.html",
                "assets/index-a1.js",
                "assets/index-a1.css",
                "assets/shared-b2.js",
                "assets/other-c3.js",
                "assets/sign-in-d4.js",
                "assets/admin-e5.js",
            ]
        )
    }
    write(tmp_dir, files | {".vite/manifest.json": json.dumps(MANIFEST).encode()})
    return tmp_dir


class TestSizeReport:
    def test_the_sign_in_files_follow_the_manifest(self, dist):
        assert delivery.sign_in_files(dist) == [
            "index.html",
            "assets/index-a1.js",
            "assets/index-a1.css",
            "assets/shared-b2.js",
            "assets/sign-in-d4.js",
        ]

    def test_sums_the_copies_the_server_sends(self, dist):
        node(str(PRECOMPRESS), str(dist))
        files = delivery.sign_in_files(dist)
        expected_br = sum((dist / f"{name}.br").stat().st_size for name in files)
        expected_gz = sum((dist / f"{name}.gz").stat().st_size for name in files)
        report = "\n".join(delivery.report(dist))
        assert f"{expected_gz / 1024:.1f} KB gzip, {expected_br / 1024:.1f} KB brotli" in report
        assert "banner.js and banner.css not in" in report

    def test_reports_the_banner_against_its_target(self, dist):
        write(dist, {"banner.js": SCRIPT, "banner.css": b".b { color: red }\n" * 100})
        banner = delivery.banner_sizes(dist)
        assert banner is not None and banner.brotli is None  # no copies: gzip measured, brotli unknown
        assert banner.raw == len(SCRIPT) + 1800
        assert banner.gzip == len(gzip.compress(SCRIPT, 9, mtime=0)) + len(
            gzip.compress(b".b { color: red }\n" * 100, 9, mtime=0)
        )
        assert "within the 20 KB gzip target" in "\n".join(delivery.report(dist))
        write(dist, {"banner.js": os.urandom(25_000)})  # 25 KB that gzip cannot shrink
        assert "OVER the 20 KB gzip target" in "\n".join(delivery.report(dist))
