"""The hub's release side, in its event loop: who watches which release page, what
they have seen, and the frames each gets per tick (the deployment side's rules: one
read per tick for all viewers, resume from a seq, `end` and close when the build ends)."""

from collections import defaultdict
from collections.abc import Callable

from live import announce, frames
from live.release_reads import ReleaseAsk, ReleaseNews, ReleasePrint
from live.viewers import Viewer


class ReleaseViewer(Viewer):
    def __init__(self, release_id: int, seq: int, reconnect: bool, **kwargs):
        super().__init__(**kwargs)
        self.release_id = release_id
        self.seq = seq  # the last build line it has
        self.reconnect = reconnect  # it had the page before (its first snapshot refetches anyway)
        self.needs_snapshot = True  # status not sent yet


class ReleaseFanout:
    def __init__(self, wake: Callable[[], None]):
        self.viewers: dict[int, set[ReleaseViewer]] = defaultdict(set)
        self.prints: dict[int, ReleasePrint] = {}
        self.dirty: set[int] = set()  # re-read whole (print first)
        self.logged: dict[int, int] = {}  # only logged: read lines up to this seq
        self._wake = wake

    def add(self, viewer: ReleaseViewer) -> None:
        self.viewers[viewer.release_id].add(viewer)
        self.mark([viewer.release_id])

    def remove(self, viewer: ReleaseViewer) -> None:
        viewers = self.viewers.get(viewer.release_id)
        if viewers is None:
            return
        viewers.discard(viewer)
        if not viewers:
            del self.viewers[viewer.release_id]
            self.prints.pop(viewer.release_id, None)

    def all_viewers(self) -> set[ReleaseViewer]:
        return {viewer for group in self.viewers.values() for viewer in group}

    def mark(self, release_ids) -> None:
        self.dirty.update(release_ids)
        self._wake()

    def mark_all(self) -> None:
        """Re-read every watched release (a poll, or Redis back); the hub wakes itself."""
        self.dirty.update(self.viewers)

    def on_message(self, release_id: int, payload: str) -> None:
        if release_id not in self.viewers:
            return
        seq = payload.removeprefix(announce.LOG)
        if payload.startswith(announce.LOG) and seq.isdigit():
            self.logged[release_id] = max(self.logged.get(release_id, 0), int(seq))
            self._wake()
        else:
            self.mark([release_id])

    def take_asks(self) -> tuple[list[ReleaseAsk], dict[int, list[ReleaseViewer]]]:
        """What to read this tick, and the viewers it is read for."""
        dirty, self.dirty = self.dirty, set()
        logged, self.logged = self.logged, {}
        asks, viewers_asked = [], {}
        for release_id in dirty | logged.keys():
            viewers = list(self.viewers.get(release_id, ()))
            if not viewers:
                continue
            known = self.prints.get(release_id)
            snapshot = any(viewer.needs_snapshot for viewer in viewers)
            lines_only = release_id not in dirty and known is not None and not snapshot
            viewers_asked[release_id] = viewers
            asks.append(
                ReleaseAsk(
                    release_id=release_id,
                    known=known,
                    resume_points={viewer.seq for viewer in viewers},
                    snapshot=snapshot,
                    logged_upto=logged.get(release_id) if lines_only else None,
                )
            )
        return asks, viewers_asked

    def give_back(self, asks: list[ReleaseAsk]) -> None:
        """A read failed: nothing was handed out, so all of it is still to do."""
        self.dirty.update(ask.release_id for ask in asks)

    def hand_out(self, asks, viewers_asked, news: dict[int, ReleaseNews]) -> None:
        for ask in asks:
            self._hand_out(ask, news[ask.release_id], viewers_asked[ask.release_id])

    def _hand_out(self, ask: ReleaseAsk, news: ReleaseNews, viewers: list[ReleaseViewer]) -> None:
        if news.print is None:  # deleted while watched
            for viewer in viewers:
                viewer.push(frames.event("end", "gone"))
                viewer.close()
            return
        for viewer in viewers:
            if viewer.closing:
                continue
            viewer.push(b"".join(self._frames_for(viewer, ask.known, news)))
            if viewer.seq >= news.print.last_seq and news.print.is_final:
                viewer.close()  # after its `end`
        if self.viewers.get(ask.release_id):
            self.prints[ask.release_id] = news.print
        if any(viewer.seq < news.print.last_seq for viewer in viewers if not viewer.closing):
            self.mark([ask.release_id])  # more lines than one event holds

    @staticmethod
    def _frames_for(viewer: ReleaseViewer, known, news: ReleaseNews) -> list[bytes]:
        lines, viewer.seq = news.lines.get(viewer.seq, (b"", viewer.seq))
        ending = news.print.is_final and viewer.seq >= news.print.last_seq
        # The cancel button and the facts are this person's sections: fetched on `changed`.
        changed = frames.event("changed", "sections")
        parts = []
        if viewer.needs_snapshot:
            # Always re-fetch the sections too: the page was rendered before the stream
            # opened, and the build may have started (or ended) in between; the status
            # alone would then say "Building since …" above facts saying "not started yet".
            parts += [news.status, lines, changed]
            viewer.needs_snapshot = False
        else:
            parts.append(lines)
            if ending or news.shown_changed(known):
                parts += [news.status, changed]
        if ending:
            parts.append(frames.event("end", news.print.state))
        return parts
