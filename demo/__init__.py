"""Everything only `make run` needs, and nothing else: the demo's seed data (`seed`,
`manage.py seed_demo`), its Docker engine and registry (`builds`), its Prometheus and
traffic (`monitoring`), its Slack receiver (`slack`) and the supervisor that runs the
Procfile (`supervisor`).

Nothing outside demo/, tests/, bench/ and bin/ imports it (an import-linter contract in
`make lint`), and the production image leaves it out (.dockerignore); the portal's
settings list this app only when the folder is there.
"""
