// The review page: buttons and keys post decisions to the JSON API and update the card
// and the summary in place. Text from items is only ever set with textContent / value.
"use strict";
(() => {
  const cards = Array.from(document.querySelectorAll("article.card"));
  const reviewerInput = document.getElementById("reviewer");
  reviewerInput.value = localStorage.getItem("vl4gaze-reviewer") || document.body.dataset.reviewer || "";
  reviewerInput.addEventListener("change", () => localStorage.setItem("vl4gaze-reviewer", reviewerInput.value));
  let current = 0;

  function focusCard(i) {
    if (!cards.length) return;
    current = Math.max(0, Math.min(cards.length - 1, i));
    cards.forEach((c, k) => c.classList.toggle("current", k === current));
    cards[current].scrollIntoView({block: "nearest"});
  }

  async function refreshSummary() {
    const res = await fetch("/api/summary");
    if (!res.ok) return;
    const summary = await res.json();
    for (const pill of document.querySelectorAll("#summary .pill")) {
      pill.querySelector("b").textContent = summary.status[pill.dataset.status];
    }
  }

  function show(card, item) {
    const status = item.decision ? item.decision.status : "unreviewed";
    card.className = card.className.replace(/\bst-\S+/, "st-" + status);
    card.querySelector(".meta .status").textContent = status;
    card.querySelector(".answer .current").textContent = item.current_answer;
    const original = card.querySelector(".answer .original");
    original.textContent = "was: " + item.answer;
    original.hidden = item.current_answer === item.answer;
    card.querySelector(".fix-answer").value = item.current_answer;
    const t = item.current_target || {};
    const p = status === "fix" && item.decision.fixed_target ? (t.mean || t.gaze) : null;
    const dot = card.querySelector(".fix-point");
    card._point = p || null;
    if (p) {
      dot.setAttribute("cx", p[0] * item.width);
      dot.setAttribute("cy", p[1] * item.height);
      dot.setAttribute("visibility", "visible");
    } else {
      dot.setAttribute("visibility", "hidden");
    }
  }

  async function decide(card, body) {
    const error = card.querySelector(".error");
    body.reviewer = reviewerInput.value || null;
    body.note = card.querySelector(".note").value;
    const res = await fetch(`/api/items/${encodeURIComponent(card.dataset.id)}/decision`, {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    const data = await res.json();
    if (!res.ok) {
      error.textContent = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
      error.hidden = false;
      return false;
    }
    error.hidden = true;
    show(card, data);
    await refreshSummary();
    return true;
  }

  function act(card, action) {
    if (action === "fix") {
      const answer = card.querySelector(".fix-answer").value.trim();
      if (!answer) return Promise.resolve(false);
      return decide(card, {status: "fix", fixed_answer: answer, point: card._point || null});
    }
    return decide(card, {status: action});
  }

  cards.forEach((card, i) => {
    if (card.dataset.point) card._point = card.dataset.point.split(",").map(Number);
    card.addEventListener("click", (e) => {
      focusCard(i);
      const button = e.target.closest("button[data-action]");
      if (button) act(card, button.dataset.action);
    });
    card.querySelector(".fix-answer").addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); act(card, "fix"); }
    });
    const figure = card.querySelector(".figure.clickable");
    if (figure) {
      figure.addEventListener("click", (e) => {
        const box = figure.querySelector("img").getBoundingClientRect();
        const x = Math.min(1, Math.max(0, (e.clientX - box.left) / box.width));
        const y = Math.min(1, Math.max(0, (e.clientY - box.top) / box.height));
        card._point = [Number(x.toFixed(4)), Number(y.toFixed(4))];
        decide(card, {status: "fix", point: card._point});
      });
    }
  });

  document.addEventListener("keydown", (e) => {
    const typing = e.target.matches("input, textarea, select");
    if (e.key === "Escape" && typing) { e.target.blur(); return; }
    if (typing || e.ctrlKey || e.metaKey || e.altKey || !cards.length) return;
    const card = cards[current];
    if (e.key === "j") focusCard(current + 1);
    else if (e.key === "k") focusCard(current - 1);
    else if (e.key === "a" || e.key === "r") {
      act(card, e.key === "a" ? "accept" : "reject").then((ok) => ok && focusCard(current + 1));
    } else if (e.key === "f") {
      e.preventDefault();
      const input = card.querySelector(".fix-answer");
      input.focus();
      input.select();
    } else return;
    e.preventDefault();
  });
  focusCard(0);
})();
