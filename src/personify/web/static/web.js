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
  // Buttons that remove something ask first.
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
});
