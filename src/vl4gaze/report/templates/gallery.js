// Filters for the vl4gaze gallery: task, model, right / wrong. Plain JS, no dependencies.
(function () {
  "use strict";
  const task = document.getElementById("f-task");
  const model = document.getElementById("f-model");
  const verdict = document.getElementById("f-verdict");
  const count = document.getElementById("count");
  const empty = document.getElementById("empty");
  const cards = Array.from(document.querySelectorAll(".card"));

  function apply() {
    const t = task.value, m = model.value, v = verdict.value;
    let shown = 0;
    for (const card of cards) {
      const answers = Array.from(card.querySelectorAll(".answer"));
      for (const a of answers) a.hidden = m !== "all" && a.dataset.model !== m;
      for (const p of card.querySelectorAll(".pred")) {
        p.style.display = m === "all" || p.dataset.model === m ? "" : "none";
      }
      let ok = t === "all" || card.dataset.task === t;
      if (ok && m !== "all") ok = answers.some((a) => a.dataset.model === m);
      if (ok && v !== "all") {
        const want = v === "right" ? "true" : "false";
        ok = answers.some((a) => !a.hidden && a.dataset.correct === want);
      }
      card.hidden = !ok;
      if (ok) shown += 1;
    }
    count.textContent = shown + " of " + cards.length + " items";
    empty.hidden = shown > 0;
  }

  for (const select of [task, model, verdict]) select.addEventListener("change", apply);
  apply();
})();
