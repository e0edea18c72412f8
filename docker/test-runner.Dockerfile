# The test-runner service of compose.yaml: Debian's python3 with boto3, nothing else.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-boto3 \
 && rm -rf /var/lib/apt/lists/*
USER nobody
WORKDIR /tmp
