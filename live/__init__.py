"""Live pages: what the engine announces, and the hub that streams it to browsers.

`announce` publishes on Redis after commit; `hub` (one per ASGI process) listens on
one connection and fans frames out to that process's server-sent-event streams
(`views`), formatted by `frames`; `fingerprints` and `reads` are its database side.
"""
