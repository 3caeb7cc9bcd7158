"""Deployment notifications: an outbox row per (deployment, event), delivered with retries.

`outbox.notify` is called by the engine inside its transaction; the
`send_notification` task calls `outbox.deliver`; the sweeper calls
`outbox.enqueue_due`. Messages are built in `messages`, posted by `channels`.
"""
