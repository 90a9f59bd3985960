"""How the pipeline shares out its pages (banmian/pipeline.py); whole builds are in test_site.py and test_cache.py."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

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
