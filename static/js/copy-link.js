// "Copy link" buttons: <button data-copy="INPUT-ID" hidden>. Without JavaScript the
// button stays hidden and the read-only input can still be selected and copied.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const input = document.getElementById(button.dataset.copy);
    const status = button.parentElement.querySelector(".copied");
    if (!input) continue;
    button.hidden = false;
    input.addEventListener("focus", () => input.select());
    button.addEventListener("click", async () => {
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
    });
  }
});
