"""Sampling GazeWorld scenes: where people stand, what each looks at, which objects lie where.

A scene is sampled in pixels and then written as an annotation record with rounded
normalized coordinates; the picture is rendered from that record alone (see
``gazeworld_draw.render_record``), so the picture and the ground truth cannot disagree.

Layout rules that keep every answer visible in the picture:
- people stand in separate slots from left to right, so heads never overlap;
- an object never covers a head (nose included) or a body, except the one a person
  holds (the target of a downward gaze may lie over the person's own body);
- the line of sight from the eyes to the gaze point crosses no other object or person,
  so the first thing along the face direction is the answer;
- object descriptions (colour + label) and shirt colours are unique within a scene.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from vl4gaze.geometry import direction_of_angle, gaze_angle
from vl4gaze.sources.gazeworld_draw import (
    COLORS,
    FLOORS,
    HAIRS,
    HOLDABLE,
    KINDS,
    NOSE,
    SKINS,
    WALLS,
    body_box,
)

PixelBox = tuple[float, float, float, float]
Segment = tuple[float, float, float, float]

#: Bumped whenever the same seed would give different pictures or annotations.
GENERATOR_VERSION = 1
#: Decimal places of normalized coordinates in the annotations.
DECIMALS = 6
#: Where the eye point lies on the way from the head centre to the face, in head radii.
EYE_OFFSET = 0.3


@dataclass(frozen=True)
class WorldConfig:
    """What a GazeWorld data set looks like; ``p_*`` are fractions of people.

    ``p_look_at_person`` applies to people in scenes with several people, ``p_mutual`` to
    scenes with several people; every other proportion to all people. People not drawn
    into any case look at an object.
    """

    size: int = 448
    p_multi_person: float = 0.5
    p_eyes_closed: float = 0.08
    p_eyes_hidden: float = 0.08
    p_out_of_frame: float = 0.1
    p_look_at_person: float = 0.2
    p_empty_space: float = 0.05
    #: How often a person looks at an object someone else already looks at.
    p_shared_target: float = 0.15
    #: Share of multi-person scenes in which two neighbours look at each other's head
    #: centres (eyes open, both in frame), on top of the mutual gaze that ``p_look_at_person``
    #: gives by chance. At 0 no random number is drawn for it, so worlds made before the
    #: option existed stay byte-identical.
    p_mutual: float = 0.0
    test_fraction: float = 0.2
    min_objects: int = 3
    max_objects: int = 8
    max_people: int = 4
    #: Head size relative to the default (bigger heads: easier cues for small models).
    head_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.size < 64:
            raise ValueError(f"size={self.size} is too small (at least 64 pixels)")
        for name in ("p_multi_person", "p_eyes_closed", "p_eyes_hidden", "p_out_of_frame",
                     "p_look_at_person", "p_empty_space", "p_shared_target", "p_mutual",
                     "test_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}={value!r} must lie in [0, 1]")
        total = (self.p_eyes_closed + self.p_eyes_hidden + self.p_out_of_frame
                 + self.p_look_at_person + self.p_empty_space)
        if total > 1.0:
            raise ValueError(f"the person proportions add up to {total:.3f} > 1")
        if not 1 <= self.min_objects <= self.max_objects:
            raise ValueError(f"need 1 <= min_objects ({self.min_objects}) <= max_objects "
                             f"({self.max_objects})")
        if not 0.5 <= self.head_scale <= 2.0:
            raise ValueError(f"head_scale={self.head_scale!r} must lie in [0.5, 2]")
        if not 2 <= self.max_people <= 4:
            raise ValueError(f"max_people={self.max_people} must be 2, 3 or 4")


@dataclass
class _Person:
    index: int
    cx: float
    cy: float
    r: float
    shirt: str
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    eyes: str  # open | closed | hidden
    kind: str | None  # object | person | space | out | None (no gaze)
    gaze: tuple[float, float] | None = None
    target_object: int | None = None
    target_person: int | None = None
    face_deg: float | None = None  # for closed eyes: where the face points

    @property
    def head(self) -> PixelBox:
        return (self.cx - self.r, self.cy - self.r, self.cx + self.r, self.cy + self.r)

    @property
    def head_zone(self) -> PixelBox:
        """Head plus nose: no object may cover it."""
        k = (NOSE + 0.15) * self.r
        return (self.cx - k, self.cy - k, self.cx + k, self.cy + k)

    @property
    def body(self) -> PixelBox:
        return body_box(self.cx, self.cy, self.r)

    def eye_towards(self, x: float, y: float) -> tuple[float, float]:
        dx, dy = x - self.cx, y - self.cy
        n = math.hypot(dx, dy) or 1.0
        return (self.cx + EYE_OFFSET * self.r * dx / n, self.cy + EYE_OFFSET * self.r * dy / n)


@dataclass
class _Object:
    label: str
    color: str
    box: PixelBox
    holder: int | None = None  # the person whose body it may cover


@dataclass
class _Scene:
    size: int
    rng: random.Random
    people: list[_Person] = field(default_factory=list)
    objects: list[_Object] = field(default_factory=list)
    #: Lines of sight: (segment, owner person, target object index or None).
    rays: list[tuple[Segment, int, int | None]] = field(default_factory=list)
    #: Empty-space gaze points, kept free of objects.
    keep_free: list[PixelBox] = field(default_factory=list)
    p_shared_target: float = 0.0
    #: The two people (indices) who look at each other on purpose (``p_mutual``), if any.
    mutual: tuple[int, int] | None = None
    wall: tuple[int, int, int] = WALLS[0]
    floor: tuple[int, int, int] = FLOORS[0]


class _XY(NamedTuple):
    """A point that may lie outside the frame (a gaze beyond the edge)."""

    x: float
    y: float


# --- geometry helpers ------------------------------------------------------------------


def _overlap(a: PixelBox, b: PixelBox) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _grow(b: PixelBox, m: float) -> PixelBox:
    return (b[0] - m, b[1] - m, b[2] + m, b[3] + m)


def _segment_hits_box(s: Segment, b: PixelBox) -> bool:
    """Whether segment s crosses box b (slab clipping, Liang-Barsky)."""
    x0, y0, x1, y1 = s
    t0, t1 = 0.0, 1.0
    for p, q in ((-(x1 - x0), x0 - b[0]), (x1 - x0, b[2] - x0),
                 (-(y1 - y0), y0 - b[1]), (y1 - y0, b[3] - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def _inside(b: PixelBox, size: float, margin: float) -> bool:
    return b[0] >= margin and b[1] >= margin and b[2] <= size - margin and b[3] <= size - margin


# --- sampling --------------------------------------------------------------------------


def _person_kind(rng: random.Random, cfg: WorldConfig, multi: bool) -> tuple[str, str | None]:
    """(eyes, gaze kind) of one person, drawn from the configured proportions."""
    u = rng.random()
    edges = [("closed", None, cfg.p_eyes_closed), ("hidden", None, cfg.p_eyes_hidden),
             ("open", "out", cfg.p_out_of_frame),
             ("open", "person", cfg.p_look_at_person if multi else 0.0),
             ("open", "space", cfg.p_empty_space)]
    for eyes, kind, p in edges:
        if u < p:
            return eyes, kind
        u -= p
    return "open", "object"


def _place_people(scene: _Scene, cfg: WorldConfig) -> None:
    rng, size = scene.rng, scene.size
    n = rng.randint(2, cfg.max_people) if rng.random() < cfg.p_multi_person else 1
    kinds = [_person_kind(rng, cfg, n > 1) for _ in range(n)]
    # People looking out of the frame stand in an edge slot, at most one per edge.
    outs = [k for k in kinds if k[1] == "out"][:2]
    order = [k for k in kinds if k[1] != "out"]
    order += [("open", "object")] * (n - len(order) - len(outs))
    sides: dict[int, str] = {}
    if len(outs) == 2:
        order = [outs[0], *order, outs[1]]
        sides = {0: "left", n - 1: "right"}
    elif outs and rng.random() < 0.5:
        order = [outs[0], *order]
        sides = {0: "left"}
    elif outs:
        order = [*order, outs[0]]
        sides = {n - 1: "right"}
    # No draw at p_mutual = 0: the other options' worlds stay what they were.
    if n > 1 and cfg.p_mutual > 0 and rng.random() < cfg.p_mutual:
        # Neighbours: nobody stands between them, so the two lines of sight are clear.
        first = rng.randrange(n - 1)
        scene.mutual = (first, first + 1)
        for k in scene.mutual:
            order[k] = ("open", "person")
            sides.pop(k, None)
    shirts = rng.sample(sorted(COLORS), n)
    slot = size / n
    r_lo, r_hi = (0.058, 0.068) if n >= 3 else (0.062, 0.075)
    for i, (eyes, kind) in enumerate(order):
        # Heads stay small enough for their slot (head, nose and body side by side).
        r = min(size * rng.uniform(r_lo, r_hi) * cfg.head_scale, slot / 3.4)
        lo, hi = i * slot + 1.65 * r, (i + 1) * slot - 1.65 * r
        if sides.get(i) == "left":
            hi = min(hi, max(lo, 0.24 * size))
        elif sides.get(i) == "right":
            lo = max(lo, min(hi, size - 0.24 * size))
        cx = rng.uniform(lo, hi) if hi > lo else (lo + hi) / 2
        cy = size * rng.uniform(0.22, 0.5)
        scene.people.append(_Person(i, cx, cy, r, shirts[i], rng.choice(SKINS),
                                    rng.choice(HAIRS), eyes, kind))


def _clear(scene: _Scene, seg: Segment, who: int, *, skip_person: int | None = None,
           skip_object: int | None = None) -> bool:
    """Whether a line of sight of person ``who`` is free of everything but its target."""
    for p in scene.people:
        if p.index in (who, skip_person):
            continue
        if _segment_hits_box(seg, _grow(p.head, 0.2 * p.r)) or _segment_hits_box(seg, p.body):
            return False
    for k, o in enumerate(scene.objects):
        if k != skip_object and _segment_hits_box(seg, _grow(o.box, 3)):
            return False
    return True


def _object_fits(scene: _Scene, box: PixelBox, label: str, holder: int | None,
                 target_of: int | None) -> bool:
    """Whether a new object box is in frame and covers no head, body, object or ray."""
    if not _inside(box, scene.size, 2):
        return False
    for p in scene.people:
        if _overlap(box, p.head_zone):
            return False
        if _overlap(box, p.body) and (p.index != holder or label not in HOLDABLE):
            return False
    grown = _grow(box, 4)
    if any(_overlap(grown, o.box) for o in scene.objects):
        return False
    if any(_overlap(box, k) for k in scene.keep_free):
        return False
    return all(owner == target_of or not _segment_hits_box(seg, grown)
               for seg, owner, _ in scene.rays)


def _new_kind(scene: _Scene) -> tuple[str, str]:
    used = {(o.label, o.color) for o in scene.objects}
    while True:
        label = scene.rng.choice(sorted(KINDS))
        color = scene.rng.choice(KINDS[label].colors)
        if (label, color) not in used:
            return label, color


def _object_size(scene: _Scene, label: str) -> tuple[float, float]:
    kind = KINDS[label]
    base = scene.size * scene.rng.uniform(0.1, 0.135) * kind.scale
    return base * math.sqrt(kind.aspect), base / math.sqrt(kind.aspect)


def _to_edge(x: float, y: float, ux: float, uy: float, size: float) -> float:
    """Distance from (x, y) inside the frame along the unit vector (ux, uy) to the edge."""
    ts = [t for t in ((-x / ux) if ux else math.inf, ((size - x) / ux) if ux else math.inf,
                      (-y / uy) if uy else math.inf, ((size - y) / uy) if uy else math.inf)
          if t > 0]
    return min(ts, default=0.0)


def _unit(angle_deg: float) -> tuple[float, float]:
    a = math.radians(angle_deg)
    return math.cos(a), -math.sin(a)  # pixel space, y down


def _look_at_object(scene: _Scene, p: _Person) -> bool:
    rng, size = scene.rng, scene.size
    shared = [k for k, o in enumerate(scene.objects) if o.holder is None]
    if shared and rng.random() < scene.p_shared_target:
        k = rng.choice(shared)
        b = scene.objects[k].box
        gx = rng.uniform(b[0] + 0.25 * (b[2] - b[0]), b[2] - 0.25 * (b[2] - b[0]))
        gy = rng.uniform(b[1] + 0.25 * (b[3] - b[1]), b[3] - 0.25 * (b[3] - b[1]))
        seg = (*p.eye_towards(gx, gy), gx, gy)
        if math.hypot(gx - p.cx, gy - p.cy) > 2.2 * p.r and _clear(scene, seg, p.index,
                                                                     skip_object=k):
            p.gaze, p.target_object = (gx, gy), k
            scene.rays.append((seg, p.index, k))
            return True
    for attempt in range(96):
        if attempt % 12 == 0:  # keep trying one direction, so that rarer ones get their share
            sector = rng.randrange(8)
        ux, uy = _unit(sector * 45 + rng.uniform(-20, 20))
        label, color = _new_kind(scene)
        w, h = _object_size(scene, label)
        dist = rng.uniform(2.3 * p.r + 0.5 * max(w, h), 0.42 * size)
        ex, ey = p.cx + EYE_OFFSET * p.r * ux, p.cy + EYE_OFFSET * p.r * uy
        gx, gy = ex + dist * ux, ey + dist * uy
        # The gaze point lies in the middle half of the object's box.
        ox = gx - w / 2 + rng.uniform(-0.25, 0.25) * w
        oy = gy - h / 2 + rng.uniform(-0.25, 0.25) * h
        box = (ox, oy, ox + w, oy + h)
        if not _object_fits(scene, box, label, p.index, p.index):
            continue
        seg = (ex, ey, gx, gy)
        if not _clear(scene, seg, p.index):
            continue
        held = _overlap(box, p.body)
        scene.objects.append(_Object(label, color, box, holder=p.index if held else None))
        p.gaze, p.target_object = (gx, gy), len(scene.objects) - 1
        scene.rays.append((seg, p.index, p.target_object))
        return True
    return False


def _look_at_space(scene: _Scene, p: _Person) -> bool:
    rng, size = scene.rng, scene.size
    margin = 0.06 * size
    for attempt in range(40):
        if attempt % 10 == 0:
            sector = rng.randrange(8)
        ux, uy = _unit(sector * 45 + rng.uniform(-20, 20))
        dist = rng.uniform(3.0 * p.r, 0.4 * size)
        ex, ey = p.cx + EYE_OFFSET * p.r * ux, p.cy + EYE_OFFSET * p.r * uy
        gx, gy = ex + dist * ux, ey + dist * uy
        zone = (gx - margin, gy - margin, gx + margin, gy + margin)
        if not _inside(zone, size, 0):
            continue
        if any(_overlap(zone, q.head_zone) or _overlap(zone, q.body) for q in scene.people):
            continue
        if any(_overlap(zone, o.box) for o in scene.objects):
            continue
        # Nothing may lie further along the line of sight either, or that would be the answer.
        edge = _to_edge(ex, ey, ux, uy, size)
        seg = (ex, ey, ex + edge * ux, ey + edge * uy)
        if not _clear(scene, seg, p.index):
            continue
        p.gaze = (gx, gy)
        scene.rays.append((seg, p.index, None))
        scene.keep_free.append(zone)
        return True
    return False


def _look_out(scene: _Scene, p: _Person) -> bool:
    rng, size = scene.rng, scene.size
    left = p.cx < size / 2
    for _ in range(20):
        angle = rng.uniform(140, 220) if left else rng.uniform(-40, 40) % 360
        ux, uy = _unit(angle)
        ex, ey = p.cx + EYE_OFFSET * p.r * ux, p.cy + EYE_OFFSET * p.r * uy
        edge = _to_edge(ex, ey, ux, uy, size)
        if edge > 0.35 * size:
            continue
        seg = (ex, ey, ex + edge * ux, ey + edge * uy)
        if not _clear(scene, seg, p.index):
            continue
        beyond = edge + size * rng.uniform(0.1, 0.4)
        p.gaze = (ex + beyond * ux, ey + beyond * uy)
        scene.rays.append((seg, p.index, None))
        return True
    return False


def _look_at_person(scene: _Scene, p: _Person) -> bool:
    rng = scene.rng
    others = [q for q in scene.people if q.index != p.index]
    # Mutual gaze first: someone who already looks at p.
    looking_back = [q for q in others if q.target_person == p.index]
    candidates = looking_back + [q for q in rng.sample(others, len(others))
                                 if q not in looking_back]
    for q in candidates:
        gx = q.cx + rng.uniform(-0.3, 0.3) * q.r
        gy = q.cy + rng.uniform(-0.3, 0.3) * q.r
        seg = (*p.eye_towards(gx, gy), gx, gy)
        if _clear(scene, seg, p.index, skip_person=q.index):
            p.gaze, p.target_person = (gx, gy), q.index
            scene.rays.append((seg, p.index, None))
            return True
    return False


def _look_at_each_other(scene: _Scene, a: _Person, b: _Person) -> bool:
    """Mutual gaze on purpose: each gaze point is the other's head centre."""
    seg_a = (*a.eye_towards(b.cx, b.cy), b.cx, b.cy)
    seg_b = (*b.eye_towards(a.cx, a.cy), a.cx, a.cy)
    if not (_clear(scene, seg_a, a.index, skip_person=b.index)
            and _clear(scene, seg_b, b.index, skip_person=a.index)):
        return False
    for p, q, seg in ((a, b, seg_a), (b, a, seg_b)):
        p.gaze, p.target_person = (q.cx, q.cy), q.index
        scene.rays.append((seg, p.index, None))
    return True


def _add_distractors(scene: _Scene, cfg: WorldConfig) -> None:
    rng, size = scene.rng, scene.size
    wanted = rng.randint(cfg.min_objects, cfg.max_objects)
    tries = 0
    while len(scene.objects) < wanted and tries < 80:
        tries += 1
        label, color = _new_kind(scene)
        w, h = _object_size(scene, label)
        x, y = rng.uniform(0, size - w), rng.uniform(0, size - h)
        box = (x, y, x + w, y + h)
        if _object_fits(scene, box, label, None, None):
            scene.objects.append(_Object(label, color, box))


def sample_scene(rng: random.Random, cfg: WorldConfig) -> _Scene:
    """Sample one scene in pixels: people, their targets, then the other objects."""
    scene = _Scene(cfg.size, rng, p_shared_target=cfg.p_shared_target,
                   wall=rng.choice(WALLS), floor=rng.choice(FLOORS))
    _place_people(scene, cfg)
    # Lines of sight between people first (the pair that looks at each other on purpose
    # before anyone), then the edges, then objects and empty space.
    if scene.mutual is not None:
        _look_at_each_other(scene, *(scene.people[k] for k in scene.mutual))
    for wanted in ("person", "out", "object", "space"):
        for p in scene.people:
            if p.kind != wanted or p.gaze is not None:
                continue
            ok = {"person": _look_at_person, "out": _look_out, "object": _look_at_object,
                  "space": _look_at_space}[wanted](scene, p)
            if not ok and wanted != "object":
                p.kind = "object"
                ok = _look_at_object(scene, p)
            if not ok:  # nowhere to look: the person closes the eyes
                p.kind, p.eyes = None, "closed"
    for p in scene.people:
        if p.eyes == "closed":
            p.face_deg = rng.uniform(0, 360)
    _add_distractors(scene, cfg)
    return scene


# --- the annotation record -------------------------------------------------------------


def _position_words(n: int) -> list[str]:
    return {1: [""], 2: [" on the left", " on the right"],
            3: [" on the left", " in the middle", " on the right"],
            4: [" on the far left", " second from the left", " second from the right",
                " on the far right"]}[n]


def scene_record(scene: _Scene, scene_id: str, split: str) -> dict[str, Any]:
    """The annotation line of a scene: normalized, rounded, in a fixed key order."""
    size = scene.size

    def norm(v: float) -> float:
        return round(v / size, DECIMALS)

    def nbox(b: PixelBox) -> list[float]:
        return [norm(max(0.0, b[0])), norm(max(0.0, b[1])), norm(min(size, b[2])),
                norm(min(size, b[3]))]

    objects = [{"id": f"o{k}", "label": o.label, "color": o.color,
                "description": KINDS[o.label].describe(o.color), "box": nbox(o.box)}
               for k, o in enumerate(scene.objects)]
    words = _position_words(len(scene.people))
    descriptions = [f"the person in the {p.shirt} shirt{words[p.index]}" for p in scene.people]
    people = []
    for p in scene.people:
        head = nbox(p.head)
        target: dict[str, Any] = {"kind": None, "object": None, "person": None, "label": None,
                                  "description": None, "box": None}
        eye = gaze = beyond = None
        face = direction = None
        inout = "unknown"
        if p.gaze is not None:
            gx, gy = norm(p.gaze[0]), norm(p.gaze[1])
            ex, ey = (norm(v) for v in p.eye_towards(*p.gaze))
            eye = [ex, ey]
            # gaze_angle reads only .x and .y; a gaze beyond the frame is no valid Point.
            face = round(gaze_angle(_XY(ex, ey), _XY(gx, gy), size, size),  # type: ignore[arg-type]
                         DECIMALS)
            direction = direction_of_angle(face)
            if p.kind == "out":
                beyond, inout = [gx, gy], "out"
            else:
                gaze, inout = [gx, gy], "in"
            target["kind"] = p.kind
            if p.kind == "object":
                o = objects[p.target_object]  # type: ignore[index]
                target.update(object=o["id"], label=o["label"], description=o["description"],
                              box=o["box"])
            elif p.kind == "person":
                q = scene.people[p.target_person]  # type: ignore[index]
                target.update(person=f"p{q.index}", label="person",
                              description=descriptions[q.index], box=nbox(q.head))
            elif p.kind == "space":
                target.update(label=None, description="empty space on the wall"
                              if p.gaze[1] < 0.7 * size else "an empty spot on the floor")
            elif p.kind == "out":
                target["kind"] = "out"
        elif p.eyes == "closed":
            face = round(p.face_deg, DECIMALS)  # type: ignore[arg-type]
            ux, uy = _unit(face)
            eye = [norm(p.cx + EYE_OFFSET * p.r * ux), norm(p.cy + EYE_OFFSET * p.r * uy)]
        people.append({
            "id": f"p{p.index}", "index": p.index, "head": head, "eye": eye,
            "description": descriptions[p.index], "shirt": p.shirt, "skin": list(p.skin),
            "hair": list(p.hair), "eyes": p.eyes, "face_deg": face, "direction": direction,
            "inout": inout, "gaze": gaze, "gaze_beyond": beyond, "target": target,
        })
    return {"id": scene_id, "image": f"images/{scene_id}.png", "width": size, "height": size,
            "split": split, "room": {"wall": list(scene.wall), "floor": list(scene.floor)},
            "people": people, "objects": objects}
