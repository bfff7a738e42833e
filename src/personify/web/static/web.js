// Personify web app: the little script it has. Pages work without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Gallery filter: hide cards whose text does not contain what is typed.
  for (const input of document.querySelectorAll("input[data-filter]")) {
    const cards = document.querySelectorAll(input.dataset.filter);
    input.addEventListener("input", () => {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      for (const card of cards) {
        const text = (card.dataset.text || card.textContent).toLowerCase();
        card.hidden = !words.every((w) => text.includes(w));
      }
    });
  }
  // Audience builder: the count as the rule is typed (the API, 300 ms after the last key).
  for (const box of document.querySelectorAll("textarea[data-live-count]")) {
    const out = document.getElementById("live-count");
    let timer = null;
    box.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const rule = box.value.trim();
        if (!rule) { out.textContent = ""; return; }
        const url = box.dataset.liveCount + "?rule=" + encodeURIComponent(rule);
        const answer = await fetch(url, { headers: { accept: "application/json" } });
        const body = await answer.json();
        if (answer.ok) {
          out.textContent = body.persons.toLocaleString() + " of " + body.total.toLocaleString() + " persons";
        } else {
          const d = (body.error.details || [])[0];
          out.textContent = d ? "Position " + d.position + ": " + d.reason : body.error.message;
        }
      }, 300);
    });
  }
  // Buttons that remove something ask first.
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
});
