from __future__ import annotations

import gc

import pytest

from vl4gaze.gc_pause import gc_paused


def test_paused_inside_and_restored_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("a stage failed")
    assert gc.isenabled()


def test_left_off_when_it_was_off() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_build_runs_with_the_collector_paused_and_restores_it(tmp_path, monkeypatch) -> None:
    # a GazeFollow-sized build spends ~8 % of its time in collections of objects that
    # form no cycles (issue 20)
    from vl4gaze import build
    from vl4gaze.sources.gazeworld import read_gazeworld, synthesize

    seen: list[bool] = []
    add = build._Builder.add

    def spy(self, sample, key):
        seen.append(gc.isenabled())
        return add(self, sample, key)

    monkeypatch.setattr(build._Builder, "add", spy)
    world = synthesize(tmp_path / "gw", 3, size=64, progress=False)
    build.build_from_samples(read_gazeworld(str(world)), tmp_path / "b", images="none",
                             progress=False)
    assert seen and not any(seen)
    assert gc.isenabled()
