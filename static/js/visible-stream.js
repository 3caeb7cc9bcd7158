// A live page's stream, held only while the page can be seen. A browser gives a host six
// connections over HTTP/1.1 and every open stream holds one: with a few portal tabs
// open, the next page would not load. A tab hidden for HIDDEN_GRACE_MS lets its stream
// go; back in view it opens a new one, and `onOpen(source, reopened)` is called for each
// stream (`reopened` true after the first, so the page catches up on what it missed).
// window.visibleStream(url, onOpen) returns { close(), reopen() }.
(() => {
  "use strict";

  window.visibleStream = (url, onOpen) => {
    let source = null;
    let opened = 0;
    let hiddenTimer = null;
    let ended = false;

    function open() {
      source = new EventSource(typeof url === "function" ? url() : url);
      onOpen(source, opened > 0);
      opened += 1;
    }

    function letGo() {
      source?.close();
      source = null;
    }

    document.addEventListener("visibilitychange", () => {
      if (ended) return;
      if (document.hidden) {
        hiddenTimer = window.setTimeout(letGo, window.visibleStream.hiddenGraceMs);
        return;
      }
      window.clearTimeout(hiddenTimer);
      if (!source) open();
    });
    window.addEventListener("pagehide", letGo);
    open();
    return {
      close() {
        ended = true;
        letGo();
      },
      reopen() {
        letGo();
        if (!document.hidden) open();
      },
    };
  };
  // A quick look at another tab keeps the stream (a test may shorten it).
  window.visibleStream.hiddenGraceMs = 10000;
})();
