# devo-sqs: S3 -> SQS -> Devo collector.
#   docker build -t devo-sqs .
#   docker run -v $PWD/config:/devo-collector/config:ro -v $PWD/certs:/devo-collector/certs:ro \
#              -v devo-sqs-state:/devo-collector/state devo-sqs
FROM python:3.11-slim AS build
WORKDIR /src
COPY setup.cfg pyproject.toml README.md ./
COPY devo_sqs ./devo_sqs
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --home-dir /devo-collector --shell /usr/sbin/nologin devo \
 && mkdir -p /devo-collector/config /devo-collector/certs /devo-collector/state \
 && chown -R devo /devo-collector/state
USER devo
WORKDIR /devo-collector/state
VOLUME ["/devo-collector/config", "/devo-collector/certs", "/devo-collector/state"]
ENV CONFIG_FILE=/devo-collector/config/config.yaml \
    PYTHONUNBUFFERED=1
# The collector is healthy when its configuration is valid and its process answers.
HEALTHCHECK --interval=60s --timeout=10s --start-period=30s \
  CMD devo-sqs validate "$CONFIG_FILE" > /dev/null || exit 1
ENTRYPOINT ["sh", "-c", "exec devo-sqs run \"$CONFIG_FILE\""]
