# jobgw container image: Debian 12 (bookworm) build stage, small runtime stage.
#
#   docker build -t jobgw:0.1.0 .
#   docker run --rm -p 50051:50051 -p 9464:9464 -p 8080:8080 \
#     -e JOBGW_JOB_BASE_URL=https://bkapi.example.com/api/bk-job/prod \
#     -e JOBGW_JOB_APP_CODE=... -e JOBGW_JOB_APP_SECRET=... \
#     -e JOBGW_CALLBACK_PUBLIC_URL=http://HOST-JOB-CAN-REACH:8080/jobgw/v1/callback \
#     -v /etc/jobgw/auth:/etc/jobgw/auth:ro \
#     jobgw:0.1.0
#
# Configuration is by environment (JOBGW_<KEY>, see `jobgw --help`); flags given to
# `docker run IMAGE --key=value` are appended to the entrypoint and win over the environment.

FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev \
      libboost-dev libboost-system-dev \
      nlohmann-json3-dev libsimdjson-dev libspdlog-dev libfmt-dev prometheus-cpp-dev \
      libssl-dev libsqlite3-dev libhiredis-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what jobgw and jobctl are built from (.dockerignore keeps the rest out of the context);
# the tests and the benchmark tools are switched off because their folders are not copied.
# deploy.dockerfile (tests/deploy/check_dockerfile.py) configures exactly this tree.
COPY CMakeLists.txt ./
COPY proto/ proto/
COPY core/ core/
COPY web/ web/
COPY server/ server/
COPY api/ api/
COPY client/ client/
# .git stays out of the context: name the revision jobgw_build_info and `jobctl --version` report
# with --build-arg JOBGW_REVISION=$(git rev-parse --short=12 HEAD).
ARG JOBGW_REVISION=unknown
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release -DJOBGW_BUILD_TESTS=OFF -DJOBGW_BUILD_BENCH=OFF \
      -DJOBGW_REVISION="${JOBGW_REVISION}" \
 && cmake --build /build -j"$(nproc)" --target jobgw jobctl \
 && strip /build/server/jobgw /build/client/jobctl

FROM debian:bookworm-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# The packages of the libraries jobgw and jobctl link directly (readelf -d: NEEDED; apt brings
# their own dependencies), plus the CA bundle for https JOB URLs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libabsl20220623 libprotobuf32 \
      libsimdjson14 libspdlog1.10 libfmt9 libprometheus-cpp-core1.0 libssl3 libsqlite3-0 libhiredis0.14 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 jobgw \
 && useradd --system --uid 10001 --gid jobgw --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin jobgw \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/jobgw
COPY --from=build /build/server/jobgw /usr/local/bin/jobgw
COPY --from=build /build/client/jobctl /usr/local/bin/jobctl

# Listen on every interface inside the container; JOB must be told a callback URL it can reach
# (JOBGW_CALLBACK_PUBLIC_URL), the bind address 0.0.0.0 is not one.
ENV JOBGW_GRPC_LISTEN=0.0.0.0:50051 \
    JOBGW_METRICS_LISTEN=0.0.0.0:9464 \
    JOBGW_CALLBACK_LISTEN=0.0.0.0:8080 \
    JOBGW_SHUTDOWN_GRACE_MS=10000 \
    JOBGW_STATE_PATH=/var/lib/jobgw/state.db \
    JOBGW_AUTH_CREDENTIALS_FILE=/etc/jobgw/auth/credentials.json
# Callers' tokens and grants (README "Security"): mount the file (or a Kubernetes Secret) at
# /etc/jobgw/auth; jobgw refuses to start without it.
# request_ids and unfinished jobs (SQLite); mount a volume here to keep them across containers.
VOLUME /var/lib/jobgw
EXPOSE 50051 9464 8080

USER 10001:10001
# gRPC health (grpc.health.v1) of the gateway itself, with what jobgw itself reads: grpc.listen
# and tls.* from the environment and from jobgw's `--key=value` flags (its command line, PID 1;
# flags win), so the probe speaks TLS exactly when jobgw does. Keys set only in a --config file
# are not seen: give those as environment variables. With TLS, jobctl verifies jobgw's
# certificate against $HEALTHCHECK_CA_FILE, else the ca.crt next to tls.cert_file (a Kubernetes
# TLS Secret's layout), else tls.cert_file itself (self-signed), for the name
# $HEALTHCHECK_SERVER_NAME (default jobgw); with tls.require_client_cert it presents
# tls.cert_file and tls.key_file, which the client CA must then have issued. HEALTHCHECK_PID
# names another process to take the flags from.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD set -f; l=${JOBGW_GRPC_LISTEN:-127.0.0.1:50051} c=${JOBGW_TLS_CERT_FILE:-} \
      k=${JOBGW_TLS_KEY_FILE:-} r=${JOBGW_TLS_REQUIRE_CLIENT_CERT:-false}; \
    for a in $(tr '\0' '\n' 2>/dev/null </proc/${HEALTHCHECK_PID:-1}/cmdline); do case $a in \
      --grpc.listen=*) l=${a#*=} ;; --tls.cert_file=*) c=${a#*=} ;; \
      --tls.key_file=*) k=${a#*=} ;; --tls.require_client_cert=*) r=${a#*=} ;; esac; done; \
    set -- --rpc-timeout 3 --addr "127.0.0.1:${l##*:}"; \
    if [ -n "$c" ]; then \
      a=${HEALTHCHECK_CA_FILE:-${c%/*}/ca.crt}; [ -r "$a" ] || a=$c; \
      set -- "$@" --ca-file "$a" --server-name "${HEALTHCHECK_SERVER_NAME:-jobgw}"; \
      [ "$r" != true ] || set -- "$@" --cert-file "$c" --key-file "$k"; \
    fi; \
    exec jobctl "$@" health
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/jobgw"]
