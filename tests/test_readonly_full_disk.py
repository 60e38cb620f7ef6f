"""issue 21: a read-only or full output folder gives one clear line from every command
that writes (build, synth, export, score, report, review --export, eval), never a
traceback.

Without root, a chmod'ed folder is read-only. As root chmod blocks nothing, so the test
mounts small tmpfs folders instead (read-only, and 64 KiB "full"); where mounting is not
allowed either, it is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "vl4gaze", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def _mount(where: Path, options: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True)
    return done.returncode == 0


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    assert _cli("synth", str(root / "scenes"), "--scenes", "12", "--size", "64",
                "--test-fraction", "0.5").returncode == 0
    assert _cli("build", f"gazeworld:{root / 'scenes'}", "-o", str(root / "bench")
                ).returncode == 0
    done = _cli("eval", str(root / "bench"), "--model", "baseline:center", "-o",
                str(root / "run"), "--no-progress")
    assert done.returncode == 0, done.stderr
    return {"root": root, "scenes": root / "scenes", "bench": root / "bench",
            "run": root / "run"}


def _targets(kind: str, tmp_path: Path, inputs: dict[str, Path]) -> Path:
    """A folder that cannot be written (``ro``) or holds almost nothing more (``full``),
    with a copy of the run and benchmark inside for the commands that write into them."""
    out = tmp_path / kind
    if not IS_ROOT and kind == "ro":
        out.mkdir()
        shutil.copytree(inputs["run"], out / "run")
        shutil.copytree(inputs["bench"], out / "bench")
        for path in [out, *out.rglob("*")]:
            if path.is_dir():
                path.chmod(0o555)
        return out
    if not IS_ROOT:
        pytest.skip("a full disk needs a small tmpfs, which needs root to mount")
    size = "size=64k" if kind == "full" else "size=16m"
    if not _mount(out, size):
        pytest.skip("cannot mount a tmpfs here (no privilege): nothing to test with as root")
    try:
        if kind == "full":
            # Fill it: what is left is too little for any command's output.
            with contextlib.suppress(OSError), open(out / "filler", "wb") as handle:
                while True:
                    handle.write(b"\0" * 4096)
                    handle.flush()
        else:
            shutil.copytree(inputs["run"], out / "run")
            shutil.copytree(inputs["bench"], out / "bench")
            subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)
    except BaseException:
        subprocess.run(["umount", str(out)])
        raise
    return out


COMMANDS = {
    "build": lambda o, i: ["build", f"gazeworld:{i['scenes']}", "-o", str(o / "bench2")],
    "synth": lambda o, i: ["synth", str(o / "scenes"), "--scenes", "2", "--size", "64"],
    "export": lambda o, i: ["export", str(i["bench"]), "--to", "sharegpt", "-o",
                            str(o / "export")],
    "score": lambda o, i: ["score", str(o / "run"), "--n-boot", "10"],
    "report": lambda o, i: ["report", str(i["run"]), "-o", str(o / "report")],
    "review-export": lambda o, i: ["review", str(i["bench"]), "--export", str(o / "reviewed")],
    "eval": lambda o, i: ["eval", str(i["bench"]), "--model", "baseline:center", "-o",
                          str(o / "run2"), "--no-progress"],
}


@pytest.mark.parametrize("kind", ["ro", "full"])
def test_every_command_fails_with_one_line(kind, tmp_path, inputs):
    out = _targets(kind, tmp_path, inputs)
    failures = []
    try:
        for name, make in COMMANDS.items():
            if kind == "full" and name == "score":
                continue  # the run copy sits in the full folder: score writes there too
            done = _cli(*make(out, inputs))
            errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
            if done.returncode == 0 or "Traceback" in done.stderr or len(errors) != 1:
                failures.append(f"{name}: exit {done.returncode}, stderr "
                                f"{done.stderr[-600:]!r}")
    finally:
        if IS_ROOT:
            subprocess.run(["umount", str(out)])
        else:
            for path in [out, *out.rglob("*")]:
                if path.is_dir():
                    path.chmod(0o755)
    assert not failures, "\n".join(failures)
