// Live dashboard and service page. One stream per page: `lanes-events` for the lanes
// the page shows (<div data-live-lanes=URL data-live-sections=URL>). On `changed` the
// page asks its own URL, over htmx, for its live regions (out-of-band swaps of the
// page's partials): one fetch in flight and at most one queued, so a burst of events
// costs two fetches. A region where someone is typing, or has a form open, is left
// alone and refreshed once they leave it. Without JavaScript the page is complete and
// a reload shows the truth.
(() => {
  "use strict";

  function start(anchor) {
    const sectionsUrl = anchor.dataset.liveSections;
    let inFlight = false;
    let queued = false;

    function refresh() {
      if (inFlight) {
        queued = true;
        return;
      }
      inFlight = true;
      htmx
        .ajax("GET", sectionsUrl, { source: anchor, swap: "none" })
        .catch(() => {}) // a failed fetch waits for the next event (or the safety poll)
        .finally(() => {
          inFlight = false;
          if (queued) {
            queued = false;
            refresh();
          }
        });
    }

    let opened = false;
    window.visibleStream(anchor.dataset.liveLanes, (stream) => {
      stream.addEventListener("changed", refresh);
      // Events sent while the stream was down (or the tab hidden) are lost: a new
      // stream refetches once.
      stream.addEventListener("open", () => {
        if (opened) refresh();
        opened = true;
      });
    });

    document.addEventListener("focusout", (event) => {
      const region = event.target.closest && event.target.closest("[data-live-stale]");
      if (!region) return;
      setTimeout(() => {
        if (!busy(region)) {
          delete region.dataset.liveStale;
          refresh();
        }
      }, 0);
    });
  }

  // Someone is using a form here: focused in it, typed, chose, or opened a <details>.
  function busy(region) {
    if (region.contains(document.activeElement) && document.activeElement.matches("input, select, textarea")) {
      return true;
    }
    if (region.querySelector("details[open]")) return true;
    for (const field of region.querySelectorAll("input, select, textarea")) {
      if (field.type === "hidden") continue;
      if (field.type === "checkbox" || field.type === "radio") {
        if (field.checked !== field.defaultChecked) return true;
      } else if (field.tagName === "SELECT") {
        for (const option of field.options) {
          if (option.selected !== option.defaultSelected) return true;
        }
      } else if (field.value !== field.defaultValue) {
        return true;
      }
    }
    return false;
  }

  const FOCUSABLE = "a[href], button, input, select, textarea, summary";
  let refocus = null;

  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    const target = event.detail.target;
    if (!target.classList || !target.classList.contains("live")) return;
    if (busy(target)) {
      event.detail.shouldSwap = false;
      target.dataset.liveStale = "true";
      return;
    }
    // A keyboard user on a link keeps their place: the same control gets focus back.
    const active = document.activeElement;
    if (active && active !== document.body && target.contains(active)) {
      const index = Array.from(target.querySelectorAll(FOCUSABLE)).indexOf(active);
      refocus = index >= 0 ? { id: target.id, index } : null;
    }
  });

  document.addEventListener("htmx:oobAfterSwap", (event) => {
    if (!refocus || event.detail.target.id !== refocus.id) return;
    const region = document.getElementById(refocus.id);
    const control = region && region.querySelectorAll(FOCUSABLE)[refocus.index];
    refocus = null;
    if (control) control.focus({ preventScroll: true });
  });

  document.addEventListener("DOMContentLoaded", () => {
    const anchor = document.querySelector("[data-live-lanes]");
    if (anchor && window.EventSource && window.htmx && window.visibleStream) start(anchor);
  });
})();
