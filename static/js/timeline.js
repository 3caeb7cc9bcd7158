// The environment timeline, live. On its first page (no "older" position) it listens
// to the lanes stream of the environment; when a lane changed it fetches the newest
// entries (same URL and filters, as an htmx request) and merges the ones it does not
// have yet into place, newest first, never twice. Older pages stay as they are.
// Without JavaScript the page is complete, and a reload shows what is new.
(() => {
  "use strict";

  function start() {
    const status = document.getElementById("timeline-live");
    const list = document.getElementById("timeline-entries");
    if (!status || !list || !status.dataset.stream || !window.EventSource || !window.visibleStream) return;
    const word = status.querySelector(".live-word");
    const news = status.querySelector(".live-news");
    let running = null;
    let pending = false;
    let opened = false;
    let total = 0;

    const say = (text) => { word.textContent = text; };

    async function refresh() {
      if (running) { pending = true; return; }  // one fetch at a time; one more after it
      running = (async () => {
        try {
          const response = await fetch(window.location.href, {
            headers: { "HX-Request": "true" }, credentials: "same-origin",
          });
          if (!response.ok) return;
          const added = merge(await response.text());
          if (added) {
            total += added;
            news.textContent = `${total} new since you opened the page (marked).`;
          }
        } catch {
          // The stream's next event (or its reconnect) tries again.
        }
      })();
      await running;
      running = null;
      if (pending) { pending = false; refresh(); }
    }

    function merge(html) {
      const fetched = document.createElement("template");
      fetched.innerHTML = html;
      const now = fetched.content.getElementById("timeline-now");
      const current = document.getElementById("timeline-now");
      if (now && current) current.replaceWith(now);
      let added = 0;
      for (const entry of fetched.content.querySelectorAll("li.entry")) {
        if (document.getElementById(entry.id)) continue;  // shown already
        if (place(entry, fetched.content)) added += 1;
      }
      if (added) list.querySelector("li.empty")?.remove();
      return added;
    }

    // Entries are ordered newest first by (data-at, data-order); day headings
    // (li.day) open each day's entries.
    const newer = (a, b) =>
      Number(a.dataset.at) - Number(b.dataset.at) || Number(a.dataset.order) - Number(b.dataset.order);

    function place(entry, fetched) {
      const entries = list.querySelectorAll("li.entry");
      const next = Array.from(entries).find((shown) => newer(entry, shown) > 0);
      if (!next && entries.length) return false;  // older than this page: on the next one
      let before = next || null;
      const heading = before && before.previousElementSibling;
      if (heading && heading.matches("li.day") && heading.dataset.day !== entry.dataset.day) {
        before = heading;  // a newer day than the entry it precedes: above its heading
      }
      entry.classList.add("new");
      list.insertBefore(entry, before);
      const above = entry.previousElementSibling;
      if (!above || above.dataset.day !== entry.dataset.day) {
        const day = fetched.querySelector(`li.day[data-day="${entry.dataset.day}"]`);
        if (day) list.insertBefore(day.cloneNode(true), entry);
      }
      return true;
    }

    window.visibleStream(status.dataset.stream, (source) => {
      source.addEventListener("open", () => {
        say("● Live: new entries appear at the top.");
        if (opened) refresh();  // a reconnect: catch up on what happened meanwhile
        opened = true;
      });
      source.addEventListener("changed", refresh);
      source.addEventListener("error", () => say("◌ Reconnecting… (reload the page to see newer entries)"));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
