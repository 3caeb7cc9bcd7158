// "Copy link" buttons: <button data-copy="INPUT-ID" hidden>. Without JavaScript the
// button stays hidden and the read-only input can still be selected and copied.
// Buttons that arrive later (a section swapped in by htmx or the live stream, e.g. the
// release page's "Copy image" when the build turns ready) are shown as they arrive;
// clicks are delegated to the document, so a swapped button needs no listener.
(() => {
  function reveal(root) {
    const buttons = root.querySelectorAll ? root.querySelectorAll("button[data-copy]") : [];
    for (const button of buttons) {
      if (document.getElementById(button.dataset.copy)) button.hidden = false;
    }
  }

  async function copy(button) {
    const input = document.getElementById(button.dataset.copy);
    if (!input) return;
    const status = button.parentElement.querySelector(".copied");
    input.select();
    let copied = false;
    try {
      await navigator.clipboard.writeText(input.value);
      copied = true;
    } catch {
      // No clipboard API (plain HTTP on another host): the older command still works.
      copied = document.execCommand("copy");
    }
    if (status) status.textContent = copied ? "Copied." : "Press Ctrl+C to copy.";
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button[data-copy]");
    if (button) copy(button);
  });
  document.addEventListener("focusin", (event) => {
    const input = event.target;
    if (input.id && document.querySelector(`button[data-copy="${CSS.escape(input.id)}"]`)) {
      input.select();
    }
  });
  document.addEventListener("DOMContentLoaded", () => reveal(document));
  // htmx fires htmx:load on every element it swaps in, out-of-band ones included.
  document.addEventListener("htmx:load", (event) => reveal(event.target));
})();
