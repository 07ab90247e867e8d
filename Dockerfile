# The eWaterCycle experiment launcher: gunicorn with the uvicorn worker (Connexion 3
# applications are ASGI), as a non-root user, on port 8888.
#
#   docker build -t ewatercycle-experiment-launcher .
#   docker run -p 8888:8888 -e JUPYTERHUB_URL=http://hub.example.org \
#       -e JUPYTERHUB_TOKEN=<the service's api_token> ewatercycle-experiment-launcher
#
# Authentication. PAM (HTTP Basic, LAUNCHER_AUTH_METHODS "pam") checks the accounts of
# the machine it runs on, and a container has none of the hub's users unless they are
# provided, e.g. by an sssd/LDAP PAM configuration in an image built on this one. So
# container deployments usually use hub-token authentication: a caller sends
# `Authorization: token <their JupyterHub API token>` and the launcher verifies it with
# the hub. This image defaults to LAUNCHER_AUTH_METHODS=token; set "pam,token" where
# PAM has the accounts (the user is in the shadow group for a local /etc/shadow).
#
# Behind a reverse proxy or ingress, set FORWARDED_ALLOW_IPS to the proxy's addresses so
# that the failed-login limits per address see the callers' addresses, not the proxy's.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY setup.py README.md LICENSE /tmp/src/
COPY ewatercycle_experiment_launcher/ /tmp/src/ewatercycle_experiment_launcher/

# The package brings the Redis client that replicas share state with (LAUNCHER_REDIS_URL).
RUN pip install /tmp/src \
    && rm -rf /tmp/src \
    && useradd --system --uid 10001 --user-group --groups shadow \
        --create-home --home-dir /home/launcher --shell /usr/sbin/nologin launcher

ENV LAUNCHER_AUTH_METHODS=token \
    MALLOC_ARENA_MAX=2 \
    WORKERS=2

# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
WORKDIR /home/launcher
EXPOSE 8888

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:8888' + os.environ.get('BASE_PATH', '/').rstrip('/') + '/openapi.json', timeout=4)"]

# gunicorn as PID 1 (`serve` execs it); its workers add up their metrics in a folder of
# their own under /tmp. On SIGTERM, launches in flight get LAUNCHER_SPAWN_TIMEOUT + 2 x
# LAUNCHER_HUB_TIMEOUT (360 s by default) to finish: give the container longer to stop
# (`docker stop -t 370`, Kubernetes' terminationGracePeriodSeconds: 370).
CMD ["sh", "-c", "exec ewatercycle-experiment-launcher serve --bind 0.0.0.0:8888 --workers \"${WORKERS:-2}\""]
