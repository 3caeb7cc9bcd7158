// The deployment page, live. Without this script the page is complete as rendered and
// a reload shows the truth; with it the page follows the deployment's stream:
//   lines          appended to the log (a line already shown is dropped, so is a
//                  repeated step header); the log follows its tail while the reader
//                  is at the bottom, and "Jump to live" brings a reader back
//   status, steps  replace #status and #steps
//   changed        fetch this person's sections (controls, approvals, checklist…),
//                  one fetch in flight and one queued at most; what the person is
//                  typing survives the swap
//   end            the deployment is over: close the stream
// The stream's URL and the last line rendered are data attributes of #live-bar.
(() => {
  "use strict";

  const FOLLOW_SLACK_PX = 24; // "at the bottom" allows for rounding and a little scroll
  const RETRY_MS = [1000, 2000, 5000, 10000]; // when the browser gives up reconnecting

  const log = document.getElementById("log");

  // --- the log: append, prepend, follow the tail -------------------------------------

  function lastLine() {
    const lines = log.querySelectorAll(".line");
    return lines.length ? lines[lines.length - 1] : null;
  }

  function lastSeq() {
    const line = lastLine();
    return line ? Number(line.dataset.seq) : 0;
  }

  function parse(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  // Appends the lines of a `log_lines` fragment that the log does not have yet. A step
  // header goes in only before a line that goes in, and only when the step changes.
  function appendLines(html) {
    let header = null;
    let step = lastLine()?.dataset.step;
    let added = 0;
    const last = lastSeq();
    for (const node of Array.from(parse(html).children)) {
      if (node.classList.contains("log-step")) {
        header = node;
      } else if (node.classList.contains("line")) {
        if (Number(node.dataset.seq) <= last || document.getElementById(node.id)) continue;
        if (header && header.dataset.step !== step) log.append(header);
        header = null;
        step = node.dataset.step;
        log.append(node);
        added += 1;
      }
    }
    if (added) {
      document.getElementById("log-empty")?.remove();
      if (following) scrollToEnd();
    }
  }

  // Puts earlier lines above the first one, keeping the reader's place. The fragment
  // starts with its own header; the old top header goes when the step runs on.
  function prependLines(fragment) {
    const nodes = Array.from(fragment.children).filter(
      (node) => node.matches(".line, .log-step") && !document.getElementById(node.id || "-"),
    );
    const lines = nodes.filter((node) => node.classList.contains("line"));
    const top = log.firstElementChild;
    if (
      top?.classList.contains("log-step") &&
      lines.length &&
      lines[lines.length - 1].dataset.step === top.dataset.step
    ) {
      top.remove();
    }
    const before = log.scrollHeight;
    log.prepend(...nodes);
    log.scrollTop += log.scrollHeight - before;
  }

  let following = true;
  const jump = document.getElementById("log-jump");

  function atBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight <= FOLLOW_SLACK_PX;
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function setFollowing(value) {
    following = value;
    if (jump) jump.hidden = following;
  }

  // Without a stream (ended, or a page that cannot stream) the button still takes a
  // reader who scrolled up to the last lines, and says so.
  function jumpToTheEnd() {
    if (jump?.firstChild) jump.firstChild.textContent = "Jump to the end ";
  }

  // --- earlier lines, on request -------------------------------------------------

  async function showEarlier(event) {
    const link = event.target.closest("#log-earlier");
    if (!link || !link.href) return;
    event.preventDefault();
    const response = await fetch(link.href, { headers: { "HX-Request": "true" } });
    if (!response.ok) {
      window.location.assign(link.href); // the page of that window still works
      return;
    }
    const fragment = parse(await response.text());
    const nextLink = fragment.getElementById("log-earlier");
    if (nextLink) {
      nextLink.removeAttribute("hx-swap-oob");
      nextLink.remove();
      link.replaceWith(nextLink);
    }
    prependLines(fragment);
    (nextLink && !nextLink.hidden ? nextLink : log).focus({ preventScroll: true });
  }

  // --- sections: status, steps (pushed), this person's sections (fetched) --------

  function replaceSection(html) {
    const fresh = parse(html).firstElementChild;
    const current = fresh && document.getElementById(fresh.id);
    if (!current) return;
    current.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
    tickElapsed();
  }

  let fetching = false;
  let queued = false;

  async function refreshSections() {
    if (fetching) {
      queued = true; // one in flight, one queued: later "changed" events fold into it
      return;
    }
    fetching = true;
    try {
      // htmx swaps the out-of-band sections; keepTyping (below) guards what people type.
      await window.htmx.ajax("GET", bar.dataset.sectionsUrl, { source: bar, swap: "none" });
    } catch {
      // The next event or reconnect asks again.
    } finally {
      fetching = false;
      if (queued) {
        queued = false;
        refreshSections();
      }
    }
  }

  // A section swapped while someone types in it keeps what they typed, and the focus:
  // a field that is focused or edited stays as it is (htmx's hx-preserve, by id), and
  // a focused button is focused again in the new section.
  function keepTyping(event) {
    const { target, fragment } = event.detail;
    rememberFocus(target);
    for (const field of target.querySelectorAll("input[id], textarea[id]")) {
      const edited = field.value !== field.defaultValue;
      if (!edited && field !== document.activeElement) continue;
      fragment.querySelector(`#${CSS.escape(field.id)}`)?.setAttribute("hx-preserve", "true");
    }
  }

  let focusBack = null;

  function rememberFocus(section) {
    const active = document.activeElement;
    if (!active || active === document.body || !section.contains(active)) return;
    const selector = active.id
      ? `#${CSS.escape(active.id)}`
      : `${active.tagName}[name="${CSS.escape(active.name || "")}"][value="${CSS.escape(active.value || "")}"]`;
    focusBack = { section: section.id, selector };
  }

  function restoreFocus() {
    const back = focusBack;
    focusBack = null;
    if (!back || (document.activeElement && document.activeElement !== document.body)) return;
    document.getElementById(back.section)?.querySelector(back.selector)?.focus({ preventScroll: true });
  }

  // --- the stream ----------------------------------------------------------------

  const bar = document.getElementById("live-bar");
  const state = document.getElementById("live-state");
  let stream = null; // window.visibleStream's handle
  let streaming = false;
  let failures = 0;
  let connectedOnce = false;

  function showState(name, symbol, word) {
    state.dataset.state = name;
    state.querySelector(".live-symbol").textContent = symbol;
    state.querySelector(".live-word").textContent = word;
  }

  // The stream's URL: a stream opened anew resumes from the last line on the page (the
  // browser itself resumes a dropped one from the last `id:`, Last-Event-ID).
  function streamUrl() {
    const after = connectedOnce ? lastSeq() : Number(bar.dataset.after || 0);
    const url = new URL(bar.dataset.eventsUrl, window.location.href);
    url.searchParams.set("after", String(after));
    return url;
  }

  function connect() {
    stream = window.visibleStream(streamUrl, listen);
  }

  function listen(source) {
    source.addEventListener("open", () => {
      failures = 0;
      showState("live", "●", "Live");
      if (connectedOnce) refreshSections(); // a new stream says nothing of what we missed
      connectedOnce = true;
    });
    source.addEventListener("lines", (event) => appendLines(event.data));
    source.addEventListener("status", (event) => replaceSection(event.data));
    source.addEventListener("steps", (event) => replaceSection(event.data));
    source.addEventListener("changed", () => refreshSections());
    source.addEventListener("end", (event) => finish(event.data));
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CONNECTING) {
        showState("reconnecting", "◌", "Reconnecting…");
        return;
      }
      // Closed for good (the server answered an error): open a new stream later.
      source.close();
      const wait = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)];
      failures += 1;
      showState("reconnecting", "◌", `Reconnecting in ${Math.round(wait / 1000)} s…`);
      window.setTimeout(() => stream.reopen(), wait);
    });
  }

  function finish(finalState) {
    stream.close();
    streaming = false;
    jumpToTheEnd();
    setFollowing(following);
    showState("ended", "■", `Ended${finalState ? ` (${finalState.replace("_", " ")})` : ""}`);
  }

  // --- running steps count their seconds ---------------------------------------------

  function tickElapsed() {
    for (const time of document.querySelectorAll("#steps time.since")) {
      const seconds = Math.max(0, Math.round((Date.now() - Date.parse(time.dateTime)) / 1000));
      const minutes = Math.floor(seconds / 60);
      time.textContent = `running ${minutes ? `${minutes} min ${seconds % 60} s` : `${seconds} s`}`;
    }
  }

  // --- start ---------------------------------------------------------------------

  function start() {
    if (!log) return;
    // A box of its own that follows its tail: only with this script (without it the
    // log stays in the page's flow, so its newest lines are never hidden in a box).
    log.classList.add("boxed");
    scrollToEnd();
    log.addEventListener("scroll", () => setFollowing(atBottom()), { passive: true });
    jump?.addEventListener("click", () => {
      scrollToEnd();
      setFollowing(true);
      log.focus({ preventScroll: true });
    });
    document.addEventListener("click", showEarlier);
    // No stream URL: the page was served where it cannot stream (WSGI); it keeps its hint.
    if (!bar?.dataset.eventsUrl || !window.EventSource || !window.htmx || !window.visibleStream) {
      jumpToTheEnd();
      return;
    }
    document.getElementById("reload-hint")?.remove();
    state.hidden = false;
    document.body.addEventListener("htmx:oobBeforeSwap", keepTyping);
    document.body.addEventListener("htmx:oobAfterSwap", restoreFocus);
    streaming = true;
    connect();
    tickElapsed();
    window.setInterval(tickElapsed, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
