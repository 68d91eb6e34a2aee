# syntax=docker/dockerfile:1
# One image for every role: the entrypoint is `jzgr`, so any subcommand runs as
#   docker build -t jzgr .
#   docker run --rm jzgr --help
#   docker run --rm -p 8700:8700 jzgr sim serve --host 0.0.0.0 --seed-demo --credentials-out /out/creds.json
#   docker run --rm -v "$PWD/out:/out" jzgr conform server --credentials /out/creds.json --report-dir /out/report
# Reports and credentials go to the /out volume. compose.yaml runs the whole site (docs/docker.md).

# Build stage: the wheel and every dependency's wheel, with whatever compilers they need.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY standard standard
COPY fixtures fixtures
COPY platform_client platform_client
COPY jzgr jzgr
COPY simulator simulator
COPY conformance conformance
COPY hardware_sim hardware_sim
COPY loadtests loadtests
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Final stage: only the installed wheels in a virtual environment; no build tools, not root.
FROM python:3.11-slim
ENV PATH=/opt/jzgr/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/jzgr \
    && /opt/jzgr/bin/pip install --no-cache-dir --no-index --find-links /wheels jzgr \
    && useradd --create-home --uid 10001 jzgr \
    && mkdir /out \
    && chown jzgr /out
USER 10001
WORKDIR /out
VOLUME ["/out"]
# 8700 the mock platform (open.api, console, admin API), 8780 the devices' control API
EXPOSE 8700 8780
# The mock platform's health; other roles override it (compose.yaml does, per service).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('JZGR_HEALTH_PORT', '8700') + '/healthz', timeout=2)"]
ENTRYPOINT ["jzgr"]
CMD ["--help"]
