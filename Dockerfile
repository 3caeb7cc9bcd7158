# The portal's own image: uvicorn serves the ASGI app; the same image runs the
# Celery worker and beat with another command (see docker-compose.yml, k8s/).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

# .dockerignore keeps out what does not serve: .git, .venv, var/, demo/, tests/, bench/, docs/, caches.
COPY . .
RUN SECRET_KEY=collectstatic-only-key-not-used-at-run-time-0123456789 \
    python manage.py collectstatic --no-input -v 0

RUN useradd --system --uid 10001 portal && mkdir -p /app/var && chown portal /app/var
USER portal
EXPOSE 8000
# Behind a TLS proxy (an ingress), set PORTAL_TRUSTED_PROXY=true: the portal then takes
# X-Forwarded-Proto and X-Forwarded-For's last hop from it. uvicorn must not read them
# itself (portal/serve.py passes --no-proxy-headers): it would trust them from any client
# on 127.0.0.1.
ENV PORTAL_TRUSTED_PROXY=false
# portal.serve runs uvicorn with WEB_CONCURRENCY worker processes (default: the cores the
# container sees); each has its own database pool (README, "Sizing").
ENV PORTAL_HOST=0.0.0.0 PORTAL_PORT=8000
CMD ["python", "-m", "portal.serve"]
