"""The HTTP API with its tokens and idempotency: `v1` is the API object the URLs mount."""
