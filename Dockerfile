# syntax=docker/dockerfile:1
# streamvault: one image for every component. By default it runs a whole node (downloader,
# restreamer, backfiller and coverage in one process) from /etc/streamvault/node.toml.
#
#   docker build -t streamvault .
#   docker run -d -p 8000:8000 -v sv-data:/data streamvault node --config /etc/streamvault/node.toml --channel NAME
#
# Any other component runs from the same image: `docker run streamvault restream --help`.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: turn the source tree into a wheel (no compilers needed: the package is pure Python)
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# --- runtime
FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.source="https://github.com/streamvault/streamvault" \
      org.opencontainers.image.title="streamvault" \
      org.opencontainers.image.description="A redundant archive for live streams: record, replicate, restream, cut and measure coverage." \
      org.opencontainers.image.licenses="MIT"

# Debian's ffmpeg for cuts; streamvault finds it on PATH (STREAMVAULT_FFMPEG makes it explicit).
# Not version-pinned: the base image's Debian release fixes it, and pins break on security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged UID/GID, so volume ownership is predictable (Kubernetes fsGroup: 10001).
RUN groupadd --system --gid 10001 streamvault \
    && useradd --system --uid 10001 --gid streamvault --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin streamvault \
    && mkdir -p /data /etc/streamvault \
    && chown streamvault:streamvault /data

COPY --from=build /wheels /wheels
# The imageio-ffmpeg wheel only exists to give pip-only installs an ffmpeg; this image has
# Debian's, so drop the wheel's copy (about 70 MB) and prove the right binary is the one found.
RUN pip install --no-cache-dir /wheels/*.whl \
    && pip uninstall -y imageio-ffmpeg \
    && rm -rf /wheels \
    && python -c "from streamvault.ffmpeg import ffmpeg_exe; assert ffmpeg_exe() == '/usr/bin/ffmpeg', ffmpeg_exe()" \
    && streamvault --version

COPY deploy/docker/node.toml /etc/streamvault/node.toml

# No STREAMVAULT_<KEY> for node settings here: the environment overrides a config file, so
# one set in the image would silently beat an operator's node.toml. The store is /data
# because node.toml says so, and for the single components because their default, ./data,
# is resolved from the working directory /.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STREAMVAULT_FFMPEG=/usr/bin/ffmpeg

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /
VOLUME /data
EXPOSE 8000

# Healthy when the restreamer answers GET /files with 200 (urllib raises on anything else).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/files' % os.environ.get('STREAMVAULT_PORT', '8000'), timeout=8)"]

ENTRYPOINT ["streamvault"]
CMD ["node", "--config", "/etc/streamvault/node.toml"]
