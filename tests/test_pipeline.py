"""How the pipeline shares out its pages (banmian/pipeline.py); whole builds are in test_site.py and test_cache.py."""

from __future__ import annotations

import os

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

import banmian.pipeline as pipeline
from banmian.pipeline import CHUNK_LEAST, _even_chunks
from banmian.render import Job


def _jobs(editions: list[str]) -> list[Job]:
    return [Job(f"{n}.html", "", "article", edition, "") for n, edition in enumerate(editions)]


@given(st.lists(st.sampled_from(["zh-Hans", "zh-Hant"]), max_size=3000), st.integers(1, 8), st.data())
@settings(max_examples=60)
def test_chunks_hold_every_page_once_in_order_largest_first(editions: list[str], workers: int, data: st.DataObject) -> None:
    jobs = _jobs(editions)
    indices = sorted(data.draw(st.sets(st.sampled_from(range(len(jobs)))) if jobs else st.just(set())))
    chunks = _even_chunks(jobs, indices, workers)
    assert sorted(i for chunk in chunks for i in chunk) == indices
    assert all(chunks)
    # Each edition's pages go out as contiguous runs, in order.
    for edition in set(editions):
        mine = [i for chunk in chunks for i in chunk if jobs[i].edition == edition]
        assert mine == [i for i in indices if jobs[i].edition == edition]
    # Shrinking: no chunk (but the last, a remainder) is larger than one before it, give or take rounding.
    sizes = [len(chunk) for chunk in chunks[:-1]]
    assert all(later <= earlier + len(set(editions)) for earlier, later in zip(sizes, sizes[1:]))


def test_the_last_chunks_are_small_and_editions_go_together() -> None:
    jobs = _jobs(["zh-Hans"] * 6129 + ["zh-Hant"] * 6129)
    chunks = _even_chunks(jobs, range(len(jobs)), 2)
    assert len(chunks[0]) > len(jobs) / 8  # few large chunks first: little overhead
    assert all(len(chunk) <= len(jobs) * CHUNK_LEAST + 2 for chunk in chunks[-3:])
    # Every chunk holds as many pages of each edition (a converted one costs twice).
    for chunk in chunks:
        hant = sum(jobs[i].edition == "zh-Hant" for i in chunk)
        assert abs(hant - (len(chunk) - hant)) <= 1


def _chunk_marker(indices: list[int]) -> tuple[dict[str, int], int, int]:
    """Stands in for _render_jobs: which process rendered the chunk."""
    return {str(i): os.getpid() for i in indices}, len(indices), 0


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_and_this_process_take_every_chunk_once(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    # Forked workers inherit the stand-in; only _take_chunks itself is sent to them, by name.
    monkeypatch.setattr(pipeline, "_render_jobs", _chunk_marker)
    chunks = [[n] for n in range(300)]
    monkeypatch.setattr(pipeline, "_CHUNKS", (chunks, pipeline._counter()))
    shown: list[int] = []
    with pipeline._pool(workers) as pool:
        theirs = [pool.apply_async(pipeline._take_chunks) for _ in range(workers)]
        results = pipeline._take_chunks(shown.append)
        mine = len(results)
        results += [result for task in theirs for result in task.get()]
    assert sorted(number for number, _ in results) == list(range(len(chunks)))
    assert all(manifest == {str(number): manifest[str(number)]} for number, (manifest, _, _) in results)
    # The progress bar heard of each of this process's chunks, in the order taken.
    assert len(shown) == mine and shown == sorted(shown)


def test_one_process_takes_the_chunks_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "_render_jobs", _chunk_marker)
    monkeypatch.setattr(pipeline, "_CHUNKS", ([[0, 1], [2], [3, 4, 5]], pipeline._counter(local=True)))
    shown: list[int] = []
    results = pipeline._take_chunks(shown.append)
    assert [number for number, _ in results] == [0, 1, 2]
    assert [written for _, (_, written, _) in results] == [2, 1, 3]
    assert shown == [1, 2, 3]


def test_a_build_waits_for_the_last_builds_finisher_before_reading_its_cache(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from sitekit import copy_fixture, tree_bytes

    source = copy_fixture("paper", tmp_path)
    output = tmp_path / "out"
    # The finisher starts once this (pytest's) process exits, or after this long.
    monkeypatch.setattr(pipeline, "PARENT_EXIT_WAIT_SECONDS", 1.0)
    pipeline.build(pipeline.BuildOptions(source=source, output=output, jobs=1, detach=True))
    finisher = int((tmp_path / ".out.finishing").read_bytes())
    os.kill(finisher, 0)  # still at work: it has not even begun saving the cache
    article = next((source / "content").rglob("*.md"))
    article.write_text(article.read_text(encoding="utf-8") + "\n补记一句。\n", encoding="utf-8")
    # Reading the cache now would read the body store the finisher replaces.
    second = pipeline.build(pipeline.BuildOptions(source=source, output=output, jobs=1))
    _, status = os.waitpid(finisher, 0)  # it has let go of the lock: it is done
    assert os.waitstatus_to_exitcode(status) == 0
    assert 0 < second.written < 40  # incremental: the finisher's cache and spare were there
    cold = pipeline.build(pipeline.BuildOptions(source=source, output=Path(tmp_path / "cold"), jobs=1, use_cache=False))
    assert cold.written > second.written
    assert tree_bytes(output) == tree_bytes(tmp_path / "cold")
