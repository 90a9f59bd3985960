"""banmian's own bytecode in the user's cache folder, and nobody else's (banmian/bytecode.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sitekit import ROOT


def _python(code: str, cache: Path, *path: Path) -> str:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "XDG_CACHE_HOME": str(cache)}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, path), str(ROOT)])
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip()


def test_only_banmians_modules_are_kept_and_only_once(tmp_path: Path) -> None:
    code = (
        "import banmian, sys; banmian.keep_bytecode(); import banmian.render, jinja2; "
        "print(type(banmian.render.__spec__.loader).__name__, type(jinja2.__spec__.loader).__name__, sys.pycache_prefix)"
    )
    assert _python(code, tmp_path) == "CachedSourceLoader SourceFileLoader None"
    kept = {p.relative_to(tmp_path).as_posix(): p.stat().st_mtime_ns for p in tmp_path.rglob("*.pyc")}
    assert any(name.endswith(f"/banmian/render.{sys.implementation.cache_tag}.pyc") for name in kept)
    assert all("/banmian/" in name for name in kept)  # no library's, no standard module's
    _python(code, tmp_path)  # read back, not written again
    assert {p.relative_to(tmp_path).as_posix(): p.stat().st_mtime_ns for p in tmp_path.rglob("*.pyc")} == kept


def test_an_edited_or_damaged_source_is_compiled_again(tmp_path: Path) -> None:
    package = tmp_path / "src" / "paper"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    module = package / "edition.py"
    module.write_text("VALUE = 1\n")
    cache = tmp_path / "cache"
    code = (
        f"from banmian.bytecode import install; install('paper', {str(cache)!r}); "
        "import paper.edition; print(paper.edition.VALUE, type(paper.edition.__spec__.loader).__name__)"
    )
    assert _python(code, cache, tmp_path / "src") == "1 CachedSourceLoader"
    module.write_text("VALUE = 22\n")  # another size: stale even within the same second
    assert _python(code, cache, tmp_path / "src") == "22 CachedSourceLoader"
    (kept,) = cache.rglob("edition.*.pyc")
    kept.write_bytes(kept.read_bytes()[:16] + b"not marshal data")
    assert _python(code, cache, tmp_path / "src") == "22 CachedSourceLoader"
    assert kept.read_bytes()[16:] != b"not marshal data"  # written again
