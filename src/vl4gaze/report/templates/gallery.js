// The vl4gaze gallery: filter (task, model, verdict), sort, page and zoom.
// Plain JS, no dependencies, works from file://. Reads only data-* attributes and the
// page's own elements; model text is never turned back into markup.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const task = $("f-task"), model = $("f-model"), verdict = $("f-verdict");
  const sort = $("f-sort"), limit = $("f-limit"), size = $("f-size");
  const count = $("count"), empty = $("empty"), more = $("more");
  const grid = document.querySelector(".cards");
  const cards = Array.from(document.querySelectorAll(".card"));
  const FAILED = ["wrong", "unparsed"];
  const RANK = { unparsed: 0, wrong: 1, na: 2, correct: 3 };  // worst first
  let extra = 0;  // cards added by "show more"

  // the answers that count for the chosen model ("all": every model)
  function answersOf(card, m) {
    return Array.from(card.querySelectorAll(".answer"))
      .filter((a) => m === "all" || a.dataset.model === m);
  }

  function key(card, how, m) {
    const answers = answersOf(card, m);
    const fails = answers.filter((a) => FAILED.includes(a.dataset.verdict));
    const t = Number(card.dataset.taskOrder);
    if (how === "task") return [t, -fails.length];
    if (how === "model") {  // the first model that failed, then the next one's...
      const first = fails.length ? Math.min(...fails.map((a) => Number(a.dataset.model))) : 1e9;
      return [first, -fails.length, t];
    }
    if (how === "verdict") {
      const worst = Math.min(4, ...answers.map((a) => RANK[a.dataset.verdict] ?? 2));
      return [worst, -fails.length, t];
    }
    if (how === "id") return [];
    return [-fails.length, t];  // failures first
  }

  function compare(a, b) {
    for (let i = 0; i < a.k.length; i += 1) {
      if (a.k[i] !== b.k[i]) return a.k[i] - b.k[i];
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  }

  function matches(card, t, m, v) {
    if (t !== "all" && card.dataset.task !== t) return false;
    const answers = answersOf(card, m);
    if (m !== "all" && answers.length === 0) return false;
    if (v === "all") return true;
    const want = v === "failed" ? FAILED : [v];
    return answers.some((a) => want.includes(a.dataset.verdict));
  }

  function apply() {
    const t = task.value, m = model.value, v = verdict.value;
    for (const card of cards) {
      for (const a of card.querySelectorAll(".answer")) {
        a.hidden = m !== "all" && a.dataset.model !== m;
      }
      for (const p of card.querySelectorAll(".pred")) {
        p.style.display = m === "all" || p.dataset.model === m ? "" : "none";
      }
    }
    const order = cards.map((c) => ({ c, id: c.dataset.id, k: key(c, sort.value, m) }));
    order.sort(compare);
    const cap = limit.value === "all" ? Infinity : Number(limit.value) + extra;
    let matching = 0, shown = 0;
    for (const { c } of order) {
      grid.appendChild(c);  // moves the card: the page follows the chosen order
      const ok = matches(c, t, m, v);
      if (ok) matching += 1;
      c.hidden = !ok || matching > cap;
      if (!c.hidden) shown += 1;
    }
    count.textContent = shown + " of " + cards.length + " items" +
      (matching > shown ? " (" + matching + " match; show more below)" : "");
    empty.hidden = matching > 0;
    more.hidden = matching <= shown;
  }

  function resize() {
    grid.dataset.size = size.value;
  }

  // Zoom: a copy of the picture and its overlays in a modal dialog
  const zoom = $("zoom");
  const body = zoom.querySelector(".zoom-body");
  const caption = zoom.querySelector(".zoom-caption");
  function enlarge(figure) {
    const card = figure.closest(".card");
    const copy = figure.cloneNode(true);
    copy.removeAttribute("tabindex");
    copy.removeAttribute("role");
    const img = figure.querySelector("img");
    const aspect = Number(img.getAttribute("width")) / Number(img.getAttribute("height")) || 1;
    copy.style.width = "min(92vw, " + (84 * aspect).toFixed(1) + "vh)";  // fits both ways
    body.replaceChildren(copy);
    const question = card.querySelector(".question");
    caption.textContent = card.dataset.id + (question ? " · " + question.textContent : "");
    zoom.showModal();
  }
  for (const figure of document.querySelectorAll(".card .figure")) {
    figure.addEventListener("click", () => enlarge(figure));
    figure.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); enlarge(figure); }
    });
  }
  zoom.addEventListener("click", () => zoom.close());

  for (const select of [task, model, verdict, sort, limit]) {
    select.addEventListener("change", () => { extra = 0; apply(); });
  }
  size.addEventListener("change", resize);
  $("show-more").addEventListener("click", () => {
    extra += limit.value === "all" ? 0 : Number(limit.value);
    apply();
  });
  resize();
  apply();
})();
