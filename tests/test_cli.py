import shutil
from pathlib import Path

from sitekit import ROOT, copy_fixture, run_cli, tree_bytes


def test_sample_builds_with_the_readme_command(tmp_path: Path) -> None:
    sample = tmp_path / "sample"
    sample.mkdir()
    shutil.copy(ROOT / "newspaper.toml", sample)
    shutil.copytree(ROOT / "content", sample / "content")
    result = run_cli(cwd=sample)
    assert result.returncode == 0, result.stderr
    site = sample / "site"
    articles = list((site / "zh-hans/2025-01-21/A01").glob("*/index.html"))
    assert len(articles) == 4
    assert len(list((site / "zh-hant/2025-01-21/A01").glob("*/index.html"))) == 4
    # 下转A09版: A09 is not in the sample, so it is printed without a link and warned about.
    assert "A09" in result.stderr and "warning" in result.stderr
    assert "/A09/" not in "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))
    assert "built 4 articles" in result.stderr


def test_bad_content_exit_1_and_output_untouched(tmp_path: Path) -> None:
    source = copy_fixture("paper", tmp_path)
    output = tmp_path / "out"
    assert run_cli("build", "--source", str(source), "--output", str(output)).returncode == 0
    before = tree_bytes(output)
    bad = source / "content/2025-03-01/A01/bad.md"
    bad.write_text("---\ntitle: 坏\ndate: 2025-03-01\npage: 第一版\n---\n", encoding="utf-8")
    result = run_cli("build", "--source", str(source), "--output", str(output))
    assert result.returncode == 1
    assert "content/2025-03-01/A01/bad.md:4: page must be a page code" in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_bytes(output) == before


def test_bad_command_line_exit_2(tmp_path: Path) -> None:
    assert run_cli("build", "--jobs", "many").returncode == 2
    assert run_cli("new", "--date", "2025-02-30", "--page", "A01", "--title", "x").returncode == 2


def test_check_writes_nothing(tmp_path: Path) -> None:
    source = copy_fixture("paper", tmp_path)
    result = run_cli("check", "--source", str(source))
    assert result.returncode == 0, result.stderr
    assert not (source / "site").exists()
    (source / "content/2025-03-01/A01/dup.md").write_text(
        "---\ntitle: 重复\ndate: 2025-03-01\npage: A01\nslug: markup-title\n---\n", encoding="utf-8"
    )
    result = run_cli("check", "--source", str(source))
    assert result.returncode == 1
    assert "slug 'markup-title'" in result.stderr and "markup.md" in result.stderr


def test_new_scaffolds_a_buildable_article(tmp_path: Path) -> None:
    source = copy_fixture("paper", tmp_path)
    args = ("new", "--source", str(source), "--date", "2025-03-03", "--page", "a02", "--title", "长江边的新故事", "--reporter", "王五")
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path == source / "content/2025-03-03/A02/changjiang-bian-de-xin-gushi.md"
    assert "title: 长江边的新故事" in path.read_text(encoding="utf-8")
    again = run_cli(*args)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert run_cli("build", "--source", str(source), "--output", str(tmp_path / "o")).returncode == 0


def test_build_command_returns_before_its_finisher_and_the_next_build_waits_for_it(tmp_path: Path) -> None:
    from banmian.cache import cache_path
    from banmian.write import wait_for_finisher

    source = copy_fixture("paper", tmp_path)
    output = tmp_path / "out"
    first = run_cli("build", "--source", str(source), "--output", str(output))
    assert first.returncode == 0, first.stderr
    # Straight after: the next build is not refused, finds the cache and the
    # first build's spare, and has nothing to write.
    (source / "newspaper.toml").write_text((source / "newspaper.toml").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    second = run_cli("build", "--source", str(source), "--output", str(output))
    assert second.returncode == 0, second.stderr
    assert " 0 files written" in second.stderr
    wait_for_finisher(output)
    assert cache_path(source).is_file()
    assert (tmp_path / ".out.spare").is_dir() and not list(tmp_path.glob(".out.staging-*"))
