"""--resume and a checkpoint cut off mid-save (kill -9, full disk): skipped with a message."""

from __future__ import annotations

import json

from vl4gaze.train.sft import last_complete_checkpoint


def _checkpoint(root, step, *, state=True, weights=True):
    path = root / f"checkpoint-{step}"
    path.mkdir(parents=True)
    if weights:
        (path / "model.safetensors").write_bytes(b"\0" * 16)
    if state:
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return path


def test_partial_checkpoints_are_skipped_with_a_message(tmp_path, capsys):
    from transformers.trainer_utils import get_last_checkpoint

    good = _checkpoint(tmp_path, 2)
    _checkpoint(tmp_path, 4, state=False)  # killed before trainer_state.json
    _checkpoint(tmp_path, 6, weights=False)
    (tmp_path / "checkpoint-8").mkdir()
    (tmp_path / "checkpoint-8" / "trainer_state.json").write_text('{"glob')  # torn write
    # What --resume used before: the newest folder by name, whole or not.
    assert get_last_checkpoint(str(tmp_path)).endswith("checkpoint-8")
    assert last_complete_checkpoint(tmp_path) == str(good)
    err = capsys.readouterr().err
    assert err.count("skipping partial checkpoint") == 3 and "checkpoint-4" in err


def test_no_checkpoint_at_all(tmp_path):
    assert last_complete_checkpoint(tmp_path / "none") is None
    _checkpoint(tmp_path, 3, state=False)
    assert last_complete_checkpoint(tmp_path) is None
