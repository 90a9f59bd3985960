"""s2tw and s2hk in two steps must equal the whole config on any text."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banmian import opencc_steps
from banmian.opencc_steps import PIECE, TwoSteps, _compose, opencc_for, two_steps

SEED = Path(__file__).resolve().parents[1] / "content"


def _keys(name: str, scratch: Path) -> list[str]:
    share, tool = opencc_steps.package_files()
    out = scratch / f"{name}.txt"
    subprocess.run([str(tool), "-i", str(share / f"{name}.ocd2"), "-o", str(out), "-f", "ocd2", "-t", "text"], check=True)
    return [line.split("\t", 1)[0] for line in out.read_text("utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def words(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Simplified phrases of every kind the steps meet: STPhrases' keys (what
    the cutter finds), the simplified forms of the variant entries (林国梁 →
    林國樑), and pieces of them (half a phrase next to the other half of the
    next one is where a cut would matter)."""
    scratch = tmp_path_factory.mktemp("dictionaries")
    to_simplified = opencc_for("t2s")
    phrases = _keys("STPhrases", scratch)[::7]
    entries = [to_simplified.convert(key) for name in ("TWVariantsPhrases", "HKVariantsPhrases") for key in _keys(name, scratch)]
    pieces = [word[: len(word) // 2] for word in phrases[::5]] + [word[len(word) // 2 :] for word in phrases[1::5]]
    return phrases + entries + pieces + list("的了着里后面发干于台系只么为群众峰秘吃") + ["\n", "\ue000", "，", "。", " ", "A"]


@pytest.mark.parametrize("config, first, second", [("s2tw", "s2t", "t2tw"), ("s2hk", "s2t", "t2hk")])
def test_the_installed_opencc_composes_so(config: str, first: str, second: str) -> None:
    plan = two_steps(config)
    assert plan is not None and (plan.first, plan.second) == (first, second)
    assert all(len(entry) > 1 for entry in plan.entries) and plan.entries


@pytest.mark.parametrize("config", ["s2twp", "t2s", "tw2s", "s2t", "no-such-config"])
def test_other_configs_go_the_whole_way(config: str) -> None:
    # s2twp's TWPhrases step reads words (U盘 → 隨身碟): no config of the package is its rest.
    assert two_steps(config) is None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data(), config=st.sampled_from(["s2tw", "s2hk"]))
def test_two_steps_equal_the_whole_config(words: list[str], data: st.DataObject, config: str) -> None:
    plan = two_steps(config)
    assert plan is not None
    text = "".join(data.draw(st.lists(st.sampled_from(words), min_size=1, max_size=60)))
    assert plan.convert(text) == opencc_for(config).convert(text)


@pytest.mark.parametrize("config", ["s2tw", "s2hk"])
def test_the_sample_paper_and_every_dictionary_phrase(words: list[str], config: str) -> None:
    plan = two_steps(config)
    assert plan is not None
    texts = [path.read_text("utf-8") for path in sorted(SEED.rglob("*.md"))]
    texts.append("".join(words))  # every phrase against its neighbours
    texts.append("\n".join(words))
    for text in texts:
        assert plan.convert(text) == opencc_for(config).convert(text)


def test_a_line_with_a_variant_entry_goes_the_whole_way(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = two_steps("s2tw")
    assert plan is not None
    text = "林国梁说，为群众着想\n头发\ue000纯吃茶\n发展"
    whole: list[str] = []
    real = opencc_for("s2tw")

    class Spy:
        def convert(self, piece: str) -> str:
            whole.append(piece)
            return real.convert(piece)

    monkeypatch.setattr(opencc_steps, "converter_for", lambda name: Spy() if name == "s2tw" else opencc_for(name))
    assert plan.convert(text) == real.convert(text) == "林國樑說，為群眾著想\n頭髮\ue000純喫茶\n發展"
    assert whole == ["林国梁说，为群众着想", "纯吃茶"]  # only the lines holding an entry


def test_pieces_are_lines_and_batch_separators() -> None:
    assert PIECE.split("a\nb\ue000c") == ["a", "\n", "b", "\ue000", "c"]


def _plan_with(monkeypatch: pytest.MonkeyPatch, name: str, replacement: object) -> TwoSteps | None:
    """two_steps("s2tw") derived afresh (not the shipped plan) with opencc_steps.<name> replaced; the real plan cached again after."""
    monkeypatch.setattr(opencc_steps, name, replacement)
    monkeypatch.setattr(opencc_steps, "_shipped_plans", lambda: {})
    two_steps.cache_clear()
    try:
        return two_steps("s2tw")
    finally:
        monkeypatch.undo()
        two_steps.cache_clear()


def test_without_the_dictionary_tool_every_text_goes_the_whole_way(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    share, _ = opencc_steps.package_files()
    assert _plan_with(monkeypatch, "package_files", lambda: (share, tmp_path / "missing-opencc_dict")) is None
    assert two_steps("s2tw") is not None


def test_a_plan_that_fails_the_probe_is_not_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    # A second step that is not the config's rest: the probe text tells.
    real = opencc_steps._plan
    assert _plan_with(monkeypatch, "_plan", lambda *args: TwoSteps(**{**real(*args).__dict__, "second": "t2hk"})) is None


STEP = {"dict": {"type": "group", "match_policy": "short_circuit", "dicts": [{"type": "ocd2", "file": "P.ocd2"}, {"type": "ocd2", "file": "C.ocd2"}]}}
REST = {"dict": {"type": "ocd2", "file": "V.ocd2"}}
NORMAL = [{"dict": {"type": "ocd2", "file": "N.ocd2"}}]


def _configs(**whole: object) -> dict[str, object]:
    body = {"normalization": NORMAL, "segmentation": {"type": "mmseg", "dict": {"type": "ocd2", "file": "P.ocd2"}}, "conversion_chain": [STEP, REST]}
    body.update(whole)
    return {
        "x2y": body,
        "x2m": {"normalization": NORMAL, "conversion_chain": [STEP]},
        "m2y": {"normalization": NORMAL, "conversion_chain": [REST]},
    }


def test_compose_finds_the_first_step_and_the_rest() -> None:
    assert _compose("x2y", _configs()) == ("x2m", "m2y")


@pytest.mark.parametrize(
    "change",
    [
        {"segmentation": {"type": "mmseg", "dict": {"type": "ocd2", "file": "Other.ocd2"}}},  # the cutter reads another dictionary
        {"conversion_chain": [{"dict": {**STEP["dict"], "match_policy": "union"}}, REST]},  # the longest match across both
        {"conversion_chain": [STEP, REST, REST]},  # no config is the rest
        {"normalization": []},  # the steps normalize otherwise
        {"segmentation": None},
        {"conversion_chain": [STEP]},
    ],
)
def test_compose_refuses_anything_else(change: dict[str, object]) -> None:
    assert _compose("x2y", _configs(**change)) is None


def test_shipped_plans_are_those_derived_from_what_is_installed(tmp_path: Path) -> None:
    shipped = json.loads(opencc_steps.SHIPPED_PLANS.read_text(encoding="utf-8"))
    if shipped["key"] != opencc_steps.package_key():
        pytest.skip("another OpenCC is installed: builds derive the plans (tested below)")
    opencc_steps.ship_plans(tmp_path / "plans.json")  # derived and probed now, from the installed OpenCC
    assert json.loads((tmp_path / "plans.json").read_text(encoding="utf-8")) == shipped
    assert opencc_steps._shipped_plans() == shipped["plans"]
    assert opencc_steps.shipped_plan("s2tw") and two_steps("s2tw") == opencc_steps._derived("s2tw")


def test_plans_shipped_for_another_opencc_are_derived_instead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "plans.json"
    # A plan under another key (another OpenCC), and wrong: never used.
    wrong = {"first": "s2t", "second": "t2hk", "entries": [], "entry": "(?!)", "normalized": "(?!)"}
    stale.write_text(json.dumps({"key": "another opencc", "plans": {"s2tw": wrong}}), encoding="utf-8")
    monkeypatch.setattr(opencc_steps, "SHIPPED_PLANS", stale)
    opencc_steps._shipped_plans.cache_clear()
    two_steps.cache_clear()
    try:
        assert not opencc_steps.shipped_plan("s2tw")
        plan = two_steps("s2tw")
        assert plan is not None and plan.second == "t2tw"
    finally:
        monkeypatch.undo()
        opencc_steps._shipped_plans.cache_clear()
        two_steps.cache_clear()
    assert opencc_steps.shipped_plan("s2tw") or json.loads(opencc_steps.SHIPPED_PLANS.read_text(encoding="utf-8"))["key"] != opencc_steps.package_key()
