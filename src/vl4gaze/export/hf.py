"""The benchmark as a Hugging Face dataset folder: ``datasets.load_dataset(OUT)`` reads it
and ``push_to_hub`` / ``huggingface-cli upload`` can send it unchanged.

``OUT/<task>/<split>-00000-of-00001.parquet`` per task and split, with the item columns,
``image`` (an ``Image()`` feature holding the image bytes, so nothing outside OUT is
needed) and ``image_path`` (the benchmark-relative path the item had). ``OUT/README.md``
is the dataset card, written with ``huggingface_hub``'s ``DatasetCard`` /
``DatasetCardData``: license (from the sources), task categories, size category, pretty
name, one config per task plus ``all`` (the default: every task), ``dataset_info``
(features and split sizes, as ``datasets`` writes them), and a citation block for VL4Gaze
and each source dataset.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import vl4gaze
from vl4gaze.export._common import ensure_images
from vl4gaze.tasks import registry

#: Per source: the card's license id, a name, and the paper to cite.
SOURCES: dict[str, dict[str, str]] = {
    "gazefollow": {"license": "other", "name": "GazeFollow",
        "cite": """@inproceedings{recasens2015gazefollow,
  title = {Where are they looking?},
  author = {Recasens, Adri{\\`a} and Khosla, Aditya and Vondrick, Carl and
            Torralba, Antonio},
  booktitle = {Advances in Neural Information Processing Systems},
  year = {2015}
}"""},
    "videoattentiontarget": {"license": "other", "name": "VideoAttentionTarget",
        "cite": """@inproceedings{chong2020detecting,
  title = {Detecting Attended Visual Targets in Video},
  author = {Chong, Eunji and Wang, Yongxin and Ruiz, Nataniel and Rehg, James M.},
  booktitle = {IEEE/CVF Conference on Computer Vision and Pattern Recognition},
  year = {2020}
}"""},
    "childplay": {"license": "other", "name": "ChildPlay",
        "cite": """@inproceedings{tafasca2023childplay,
  title = {ChildPlay: A New Benchmark for Understanding Children's Gaze Behaviour},
  author = {Tafasca, Samy and Gupta, Anshul and Odobez, Jean-Marc},
  booktitle = {IEEE/CVF International Conference on Computer Vision},
  year = {2023}
}"""},
    "goo": {"license": "other", "name": "GOO",
        "cite": """@inproceedings{tomas2021goo,
  title = {GOO: A Dataset for Gaze Object Prediction in Retail Environments},
  author = {Tomas, Henri and Reyes, Marcus and Dionido, Raimarc and Ty, Mark and
            Mirando, Jonric and Casimiro, Joel and Atienza, Rowel and Guinto, Richard},
  booktitle = {IEEE/CVF Conference on Computer Vision and Pattern Recognition Workshops},
  year = {2021}
}"""},
    "gazeworld": {"license": "mit", "name": "GazeWorld (synthetic, vl4gaze)", "cite": ""},
}
VL4GAZE_CITATION = f"""@software{{vl4gaze,
  title = {{vl4gaze: gaze-following datasets as a vision-language benchmark}},
  version = {{{vl4gaze.__version__}}},
  note = {{The VL4Gaze tasks (object, direction, point, ambiguity) built from the sources below}}
}}"""
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                   (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"))
IMAGE_COLUMN, PATH_COLUMN = "image", "image_path"


def _kind(source: str) -> str:
    return source.split(":", 1)[0].lower()


def size_category(n: int) -> str:
    """The Hub's size bucket for ``n`` rows."""
    return next((name for limit, name in SIZE_CATEGORIES if n < limit), "n>10M")


def card_license(sources: set[str]) -> str:
    """One license id when every source shares it, else ``other``."""
    licenses = {SOURCES.get(s, {"license": "other"})["license"] for s in sources}
    return licenses.pop() if len(licenses) == 1 else "other"


def _with_images(table: pa.Table, bench: Path) -> pa.Table:
    """``image`` becomes ``{bytes, path}`` (what ``datasets.Image`` stores), the path is
    kept as ``image_path``."""
    paths = table.column("image").to_pylist()
    cache: dict[str, bytes] = {}
    for p in paths:
        if p not in cache:
            cache[p] = (bench / p).read_bytes()
    images = pa.array([{"bytes": cache[p], "path": p} for p in paths],
                      pa.struct([("bytes", pa.binary()), ("path", pa.string())]))
    names = [PATH_COLUMN if n == "image" else n for n in table.column_names]
    table = table.rename_columns(names)
    return table.add_column(table.column_names.index(PATH_COLUMN), IMAGE_COLUMN, images)


def export(bench: Path, out: Path) -> Path:
    """Write the dataset folder; returns OUT."""
    import datasets
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCard, DatasetCardData

    ensure_images(bench)
    out.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((bench / "manifest.json").read_text())
    infos: dict[str, datasets.DatasetInfo] = {}
    counts: dict[str, dict[str, int]] = {}
    sources: set[str] = set()
    features = None
    for path in sorted((bench / "data").glob("*.parquet")):
        split, table = path.stem, pq.read_table(path)
        sources |= set(table.column("source").to_pylist())
        for task in registry.task_names():
            part = table.filter(pc.equal(table["task"], task))
            if part.num_rows == 0:
                continue
            ds = datasets.Dataset(_with_images(part, bench)).cast_column(
                IMAGE_COLUMN, datasets.Image())
            features = ds.features
            (out / task).mkdir(exist_ok=True)
            ds.to_parquet(str(out / task / f"{split}-00000-of-00001.parquet"))
            counts.setdefault(task, {})[split] = part.num_rows
    if features is None:
        raise ValueError(f"{bench}: the benchmark has no items to export")
    split_names = sorted({s for c in counts.values() for s in c})
    for config in ("all", *counts):
        sizes = ({s: sum(c.get(s, 0) for c in counts.values()) for s in split_names}
                 if config == "all" else counts[config])
        infos[config] = datasets.DatasetInfo(features=features, splits=datasets.SplitDict(
            {s: datasets.SplitInfo(name=s, num_examples=n) for s, n in sizes.items()}))
    kinds = {_kind(s) for s in sources}
    configs = [{"config_name": "all", "default": True, "data_files": [
        {"split": s, "path": f"*/{s}-*.parquet"} for s in split_names]}]
    configs += [{"config_name": task, "data_files": [
        {"split": s, "path": f"{task}/{s}-*.parquet"} for s in sorted(c)]}
        for task, c in counts.items()]
    total = sum(sum(c.values()) for c in counts.values())
    data = DatasetCardData(
        license=card_license(kinds), language="en", pretty_name="VL4Gaze",
        task_categories=["visual-question-answering", "image-text-to-text"],
        size_categories=size_category(total), source_datasets=sorted(kinds),
        tags=["gaze-following", "vl4gaze"], configs=configs)
    DatasetInfosDict(infos).to_dataset_card_data(data)
    card = DatasetCard(f"---\n{data.to_yaml()}\n---\n{_card_body(manifest, counts, kinds)}")
    card.save(out / "README.md")
    return out


def _card_body(manifest: dict[str, Any], counts: dict[str, dict[str, int]],
               kinds: set[str]) -> str:
    rows = "\n".join(f"| {task} | " + " | ".join(str(c.get(s, 0)) for s in ("train", "test"))
                     + " |" for task, c in counts.items())
    licenses = "\n".join(f"- {SOURCES.get(k, {'name': k})['name']}: "
                         + ("MIT (synthetic scenes rendered by vl4gaze)"
                            if SOURCES.get(k, {}).get("license") == "mit"
                            else "the source dataset's own terms (see its release)")
                         for k in sorted(kinds))
    cites = "\n\n".join([VL4GAZE_CITATION] + [SOURCES[k]["cite"].strip() for k in sorted(kinds)
                                              if SOURCES.get(k, {}).get("cite")])
    return f"""# VL4Gaze

Gaze-following questions in four tasks (object, direction, point, ambiguity), built by
[vl4gaze](https://pypi.org/project/vl4gaze/) {vl4gaze.__version__} from
{", ".join(manifest.get("sources", []))} (seed {manifest.get("seed")}, point format
{manifest.get("point_format")}, person marked by {manifest.get("person_ref")}).

```python
from datasets import load_dataset
ds = load_dataset("PATH_OR_REPO")            # every task; or load_dataset(..., "point")
ds["test"][0]["image"]                       # a PIL image, the person already marked
```

`target` is JSON text (the task's structure), `image_path` the item's path inside the
benchmark directory. Score answers with `vl4gaze score`; prompts as `vl4gaze eval` asks
them come from `vl4gaze.prompting.build_messages`.

| task | train | test |
|---|---|---|
{rows}

## Licenses

{licenses}

## Citation

```bibtex
{cites}
```
"""
