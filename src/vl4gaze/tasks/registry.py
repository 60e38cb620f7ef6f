"""The task registry: one frozen ``TaskSpec`` per task, declared in the task's own module.

Every consumer (build's task list, prompting's system instruction, the scorer's metric
list and headline, the lmms-eval export, the report, the tiny model's tokenizer corpus)
reads the task from here instead of writing the list out again. The four built-in tasks
are imported on first use, in benchmark order (object, direction, point, ambiguity);
``register`` adds another (a test's toy task, a plug-in) after them.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The built-in task modules under ``vl4gaze.tasks``, in the order tasks are reported.
BUILTIN = ("object", "direction", "point", "ambiguity", "mutual", "shared", "whom")
#: How the gallery can draw a parsed answer (``TaskSpec.mark``), and the fields of the
#: task's ``parsed_type`` each mark reads.
MARKS = (None, "point", "direction")
MARK_FIELDS = {"point": ("x", "y"), "direction": ("direction",)}
#: The report figures a task can declare (``TaskSpec.figures``; ``vl4gaze.report.plots``).
FIGURE_KINDS = ("score_cdf", "confusion", "accuracy_by")
#: The baselines a task may answer for itself (``TaskSpec.baselines``; ``oracle`` always
#: gives the canonical answer).
BASELINE_KINDS = ("random", "center", "head", "text-only")


@dataclass(frozen=True)
class Metric:
    """One metric of a task's scores.json block: its name and which way is better."""

    name: str
    higher_is_better: bool = True


@dataclass(frozen=True)
class Figure:
    """One report figure of a task, declared with the task and drawn by
    ``vl4gaze.report.plots`` for its ``kind`` (the task module needs no matplotlib).

    - ``score_cdf``: cumulative share of the task's items per item ``score`` (from 0 to
      ``xmax``; an unparsed answer never arrives), one line per run, dotted lines at
      ``marks``; ``xlabel`` / ``ylabel`` name the axes.
    - ``confusion``: true class (the target field ``key``) against the parsed class (the
      ``parsed_type`` field ``predicted``; None: the parsed value itself), rows and
      columns in ``classes`` order plus ``none`` (unparsed, or no class), a panel per run.
    - ``accuracy_by``: accuracy grouped by the target field ``key`` (sorted; ``default``
      names a missing or null value and goes last), a bar per run.

    ``name`` is the file stem (REPORT/plots/NAME.png and .svg); ``title`` is drawn on top.
    """

    kind: str
    name: str
    title: str
    key: str | None = None
    predicted: str | None = None
    classes: tuple[str, ...] = ()
    default: str = ""
    xlabel: str = ""
    ylabel: str = ""
    xmax: float = 1.0
    marks: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in FIGURE_KINDS:
            raise ValueError(f"figure {self.name!r}: kind {self.kind!r} is not one of "
                             f"{', '.join(FIGURE_KINDS)}")
        if not self.name.isidentifier():
            raise ValueError(f"figure {self.name!r}: the name must be a Python identifier")
        if self.kind in ("confusion", "accuracy_by") and not self.key:
            raise ValueError(f"figure {self.name}: a {self.kind} figure needs a target key")
        if self.kind == "confusion" and not self.classes:
            raise ValueError(f"figure {self.name}: a confusion figure needs its classes")


@dataclass(frozen=True)
class TaskSpec:
    """Everything the stages after the builder need to know about one task.

    ``metrics``: the task's scores.json metrics in the order they are listed (the
    lmms-eval metric list adds ``parse_rate`` and ``headline``); ``headline``: the one
    metric the task is summarised by everywhere; ``instruction``: the system prompt's
    answer-form sentence, given the point-format sentence; ``max_new_tokens``: the
    longest answer the task needs; ``vocabulary``: the module constants whose strings the
    tiny model's tokenizer must cover (templates, answer choices).

    Scoring (``vl4gaze.score`` calls these; the types are in ``vl4gaze.metrics.scoring``):
    ``score_item(item, raw, out: ItemScore, ctx: ScoreContext)`` parses one answer and
    fills ``out`` (parsed, rule, correct, score, per-item ``values``);
    ``aggregate(block: TaskBlock, scores, items, embedder)`` adds the task's metrics to
    its scores.json block; ``single(score, item, embedder)`` gives one answer's values
    alone (lmms-eval's ``process_results``; default: the per-item values as floats).

    Gallery: ``detail(item)`` is a short line of ground-truth facts the reference answer
    may not state; ``mark`` how a parsed answer is drawn on the picture: ``"point"`` (a
    dot at the parsed point), ``"direction"`` (an arrow from the eye), None (not drawn).

    Baselines (``vl4gaze.models.baselines``): ``baselines`` maps a baseline kind
    (``random``, ``center``, ``head``, ``text-only``) to ``fn(ask) -> str | None``, the
    answer that baseline gives (``ask``: a ``baselines.Ask`` with the item, the train
    prior, the seeded rng, the point writer and the similar train items); None, or a
    kind left out, falls back to the kind's generic answer (see ``baselines.answer_for``).
    ``gaze_point(item)``: where the item's person looks (normalized x, y) when its target
    says so (None otherwise); the ``head`` baseline fits its head->gaze map on these.

    Review (``vl4gaze.review``): ``fix_point(item, x, y)`` gives (answer, target
    changes) when a reviewer clicks the true gaze point (None: the task has no point to
    click, the image is not clickable); ``fix_answer(item, text)`` gives (canonical
    answer, target changes) for a typed answer (default: the text as written, no target
    change); ``check_target(key, value)`` refuses (ValueError) a fixed target field the
    task's scorer could not read (default: every field accepted). The review checks a
    fix with its item's own task, and refuses a field ``target_type`` does not have.

    ``target_type``: the task's typed target (a ``schema.Record`` with exactly the keys
    the builder writes: ``from_dict`` reads the item's target dict, unknown keys
    ignored); :func:`target_of` gives it.
    ``parsed_type``: the task's typed parsed answer (a ``schema.Answer``: ``of`` reads
    the ``parsed`` JSON value the scorer wrote to items.parquet, ValueError for another
    shape); :func:`parsed_of` gives it. A ``mark`` reads its fields (``MARK_FIELDS``).

    Report: ``figures`` are the task's own figures (:class:`Figure`), drawn when a run
    has items of the task.

    Evaluation: ``max_new_tokens`` is the answer budget ``vl4gaze eval`` and the
    lmms-eval export give the task's items when the user names none.
    """

    name: str
    metrics: tuple[Metric, ...]
    headline: str
    instruction: Callable[[str], str]
    score_item: Callable[..., None]
    aggregate: Callable[..., None]
    single: Callable[..., dict[str, Any]] | None = None
    detail: Callable[[Any], str] = lambda item: ""
    mark: str | None = None
    max_new_tokens: int = 64
    vocabulary: tuple[object, ...] = ()
    # hash=False: a dict does not hash; the spec stays usable as a set member / cache key.
    baselines: Mapping[str, Callable[[Any], str | None]] = field(
        default_factory=dict, hash=False)
    gaze_point: Callable[[Any], tuple[float, float] | None] = lambda item: None
    fix_point: Callable[[Any, float, float], tuple[str, dict[str, Any]]] | None = None
    fix_answer: Callable[[Any, str], tuple[str, dict[str, Any]]] | None = None
    check_target: Callable[[str, Any], None] | None = None
    # -- building (``vl4gaze.build`` calls these; the records are in ``tasks.context``) --
    #: The ``build --tasks`` group the task belongs to (``paper``: the VL4Gaze four).
    group: str = "paper"
    #: ``make(sample, ref, options, rng) -> Draft | None``: the item about one person.
    make: Callable[..., Any] | None = None
    #: ``skip_reason(sample) -> str | None``: why ``make`` gave no item (the card counts it).
    skip_reason: Callable[..., str | None] | None = None
    #: ``make_from(SampleContext) -> Iterable[Draft]``: items that depend on the other
    #: tasks' drafts for the same person (run after them).
    make_from: Callable[..., Any] | None = None
    #: ``make_pair(PairContext) -> Iterable[Draft]``: items about two people of one image.
    make_pair: Callable[..., Any] | None = None
    #: ``counts(target) -> ((key, value), ...)``: what the dataset card counts per item
    #: (``("direction", "left")``, ``("reason", "answerable")``...).
    counts: Callable[[dict[str, Any]], Any] | None = None
    #: ``balance(target) -> class``: the builder keeps the classes equally often per split.
    balance: Callable[[dict[str, Any]], str] | None = None
    target_type: type | None = None
    parsed_type: type | None = None
    figures: tuple[Figure, ...] = ()

    def __post_init__(self) -> None:
        if not self.name or not self.name.isidentifier():
            raise ValueError(f"task name {self.name!r}: must be a Python identifier")
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"task {self.name}: metric names repeat: {names}")
        if self.headline not in names:
            raise ValueError(f"task {self.name}: headline {self.headline!r} is not one of "
                             f"its metrics ({', '.join(names)})")
        if self.mark not in MARKS:
            raise ValueError(f"task {self.name}: mark {self.mark!r} is not one of {MARKS}")
        if self.max_new_tokens < 1:
            raise ValueError(f"task {self.name}: max_new_tokens must be >= 1")
        unknown = sorted(set(self.baselines) - set(BASELINE_KINDS))
        if unknown:
            raise ValueError(f"task {self.name}: baselines {unknown} are not among "
                             f"{', '.join(BASELINE_KINDS)}")
        makers = [m for m in (self.make, self.make_from, self.make_pair) if m is not None]
        if len(makers) > 1:
            raise ValueError(f"task {self.name}: declare one of make, make_from, make_pair")
        if not self.group.isidentifier() or self.group in ("all",):
            raise ValueError(f"task {self.name}: group {self.group!r} must be an identifier "
                             "other than 'all'")
        fields = ({f.name for f in dataclasses.fields(self.parsed_type)}
                  if self.parsed_type is not None else set())
        if self.mark is not None and not fields >= set(MARK_FIELDS[self.mark]):
            raise ValueError(f"task {self.name}: mark {self.mark!r} needs a parsed_type with "
                             f"the fields {', '.join(MARK_FIELDS[self.mark])}")
        for fig in self.figures:
            if fig.predicted is not None and fig.predicted not in fields:
                raise ValueError(f"task {self.name}: figure {fig.name} reads the parsed field "
                                 f"{fig.predicted!r}, which its parsed_type does not have")
        stems = [f.name for f in self.figures]
        if len(set(stems)) != len(stems):
            raise ValueError(f"task {self.name}: figure names repeat: {stems}")

    def higher_is_better(self, metric: str) -> bool:
        """Whether a larger ``metric`` is better (KeyError for a metric not declared)."""
        for m in self.metrics:
            if m.name == metric:
                return m.higher_is_better
        raise KeyError(f"task {self.name}: no metric {metric!r}")


_SPECS: dict[str, TaskSpec] = {}
_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in BUILTIN:
        spec = importlib.import_module(f"vl4gaze.tasks.{name}").SPEC
        _SPECS.setdefault(spec.name, spec)
    # Built-ins first, in their order, then anything registered before the first use.
    order = list(BUILTIN) + [n for n in _SPECS if n not in BUILTIN]
    _SPECS.update({n: _SPECS.pop(n) for n in order})


def register(spec: TaskSpec) -> TaskSpec:
    """Add a task after the built-in ones (ValueError if its name is taken)."""
    _load()
    if spec.name in _SPECS:
        raise ValueError(f"task {spec.name!r} is already registered")
    taken = {f.name: s.name for s in _SPECS.values() for f in s.figures}
    clash = [f.name for f in spec.figures if f.name in taken]
    if clash:
        raise ValueError(f"task {spec.name!r}: figure {clash[0]!r} is task "
                         f"{taken[clash[0]]!r}'s")
    _SPECS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a task added by :func:`register` (the built-in ones stay)."""
    if name in BUILTIN:
        raise ValueError(f"task {name!r} is built in")
    _SPECS.pop(name, None)


def specs() -> tuple[TaskSpec, ...]:
    """Every task, in report order."""
    _load()
    return tuple(_SPECS.values())


def task_names() -> tuple[str, ...]:
    """Every task's name, in report order.

    >>> task_names()[:4]
    ('object', 'direction', 'point', 'ambiguity')
    """
    return tuple(s.name for s in specs())


def get(name: object) -> TaskSpec:
    """The spec of task ``name`` (a ``schema.Task`` or its value); one clear line if unknown."""
    _load()
    key = str(getattr(name, "value", name))
    try:
        return _SPECS[key]
    except KeyError:
        raise ValueError(f"unknown task {key!r}; tasks are {', '.join(_SPECS)}") from None


def target_of(item: Any) -> Any:
    """The item's target as its task's ``target_type`` (the plain dict when the task
    declares none). The Parquet column stays JSON text; this is a read-only view."""
    kind = get(item.task).target_type
    return item.target if kind is None else kind.from_dict(item.target)


def parsed_of(task: object, value: Any) -> Any:
    """A ``parsed`` JSON value of ``task`` (items.parquet) as the task's ``parsed_type``
    (the value itself when the task declares none; None when nothing was read).
    ValueError when the value is not of the declared shape."""
    kind = get(task).parsed_type
    return value if kind is None or value is None else kind.of(value)


def token_limit(task: object, given: int | None = None) -> int:
    """The answer budget of one ``task``'s items: ``given`` (the user's) when set, else
    the task's own ``max_new_tokens``."""
    return given if given is not None else get(task).max_new_tokens


def token_limits(given: int | None = None, tasks: Sequence[object] | None = None
                 ) -> int | dict[str, int]:
    """The budget a run records (config.json): ``given`` when set, else one number when
    every task of ``tasks`` (default: all) has the same limit (64 for the paper's four),
    else each task's limit."""
    if given is not None:
        return given
    wanted = None if tasks is None else {str(getattr(t, "value", t)) for t in tasks}
    limits = {s.name: s.max_new_tokens for s in specs() if wanted is None or s.name in wanted}
    if not limits:
        return get("object").max_new_tokens
    return next(iter(limits.values())) if len(set(limits.values())) == 1 else limits


def groups() -> dict[str, tuple[str, ...]]:
    """Each ``build --tasks`` group's tasks, in report order (``all``: every task).

    >>> groups()["paper"]
    ('object', 'direction', 'point', 'ambiguity')
    """
    out: dict[str, list[str]] = {}
    for s in specs():
        out.setdefault(s.group, []).append(s.name)
    return {**{g: tuple(names) for g, names in out.items()}, "all": task_names()}


def select(names: str | Sequence[str] | None) -> tuple[str, ...]:
    """Task names from a ``--tasks`` value: task names and group names, comma-separated
    or as a list, in report order; None or empty: the ``paper`` group.

    >>> select("point,paper")
    ('object', 'direction', 'point', 'ambiguity')
    """
    if names is None:
        names = ["paper"]
    elif isinstance(names, str):
        names = names.split(",")
    wanted: set[str] = set()
    known = groups()
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name in known:
            wanted.update(known[name])
        elif name in known["all"]:
            wanted.add(name)
        else:
            raise ValueError(f"unknown task or group {name!r}; tasks: "
                             f"{', '.join(task_names())}; groups: {', '.join(known)}")
    return tuple(n for n in task_names() if n in wanted) or known["paper"]


def headlines() -> dict[str, str]:
    """Each task's headline metric, by task name."""
    return {s.name: s.headline for s in specs()}
