# devo-sqs: S3 -> SQS -> Devo collector.
#
#   docker build -t devo-sqs .
#   docker run -d --name devo-sqs --stop-timeout 60 \
#     -v "$PWD/config:/devo-collector/config:ro" -v "$PWD/certs:/devo-collector/certs:ro" \
#     -v devo-sqs-state:/devo-collector/state \
#     -e CONFIG_FILE=/devo-collector/config/config.yaml devo-sqs
#
# --stop-timeout 60: on SIGTERM the collector stops receiving, then drains the input and the output process in
#   turn (up to ~30 s). Docker's default of 10 s kills it half-way: nothing is lost (undelivered messages stay in
#   SQS) but the work is redone.
# /devo-collector/state (volume): emergency spool + delivery state + heartbeat. Keep it across restarts: spooled
#   batches count as delivered, their SQS messages are gone. It must be writable by uid 10001.
# In the config, point persistence.config.directory_name at /devo-collector/state (the default, `state`, resolves
#   there too: the working directory is /devo-collector) and chain/cert/key at /devo-collector/certs/....
# Collector Server mode: -e CONFIG_FILE= (empty) reads the job and collector configs instead (their paths:
#   DEVO_SQS_JOB_CONFIG, DEVO_SQS_COLLECTOR_CONFIG; defaults /etc/devo/job/job_config.json and
#   /etc/devo/collector/collector_config.json).
# Other commands: docker run --rm --entrypoint devo-sqs -v "$PWD/config:/devo-collector/config:ro" devo-sqs \
#                   validate /devo-collector/config/config.yaml
#
# Python packages come only from requirements/runtime.txt (every package pinned, hashes checked; refreshed with
# scripts/lock), the collector itself with --no-deps. The base image is a moving tag, for Debian's and Python's
# patch releases; to freeze it too: --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:<digest>.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/devo-sqs
WORKDIR /src
COPY requirements/runtime.txt ./requirements/
RUN /opt/devo-sqs/bin/pip install --require-hashes -r requirements/runtime.txt
COPY setup.cfg pyproject.toml README.md ./
COPY devo_sqs ./devo_sqs
# The build backend (setuptools, wheel) is in the lock, hence --no-build-isolation: nothing unpinned is fetched.
RUN /opt/devo-sqs/bin/pip install --no-deps --no-build-isolation . \
 && /opt/devo-sqs/bin/devo-sqs --version

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="devo-sqs" \
      org.opencontainers.image.description="Collects S3 log files announced on SQS into Devo" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 devo \
 && useradd --system --no-log-init --uid 10001 --gid devo --home-dir /devo-collector --no-create-home \
            --shell /usr/sbin/nologin devo \
 && mkdir -p /devo-collector/config /devo-collector/certs /devo-collector/state \
 && chown devo:devo /devo-collector/state
# Same base image in both stages, so the venv's interpreter path (/usr/local/bin/python3.11) holds here too.
COPY --from=build /opt/devo-sqs /opt/devo-sqs
ENV PATH=/opt/devo-sqs/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CONFIG_FILE=/devo-collector/config/config.yaml
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
WORKDIR /devo-collector
VOLUME ["/devo-collector/config", "/devo-collector/certs", "/devo-collector/state"]
# Healthy while the running collector's heartbeat (<state dir>/heartbeat, touched every 10 s while both child
# processes live) is under 60 s old. `|| exit 1`: Docker reserves exit code 2, which a config error would give.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["sh", "-c", "devo-sqs health \"$CONFIG_FILE\" || exit 1"]
# exec: devo-sqs becomes PID 1 and receives SIGTERM itself (it stops its two child processes in order).
ENTRYPOINT ["sh", "-c", "exec devo-sqs run \"$CONFIG_FILE\""]
