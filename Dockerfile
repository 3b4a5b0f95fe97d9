# syntax=docker/dockerfile:1
#
# Pactum container image.
#   docker build -t pactum .
#   docker run -p 8080:8080 -v pactum-data:/data -e JWT_SECRET=... pactum
# Without DATABASE_URL the service keeps its SQLite file in /data (a volume); set
# DATABASE_URL=postgres://user@host:5432/db for PostgreSQL. See .env.example for every variable.

# ---- build ------------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder

RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# The cargo registry and target dir are BuildKit cache mounts, so the binary is copied out of
# target/ in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && install -m 0755 target/release/pactum /usr/local/bin/pactum

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim

# libssl3: libpq (bundled into the binary by pq-sys) links OpenSSL dynamically.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 pactum \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin pactum \
    && mkdir -p /data \
    && chown pactum:pactum /data

COPY --from=builder /usr/local/bin/pactum /usr/local/bin/pactum
# Fails the build when a shared library the binary needs is missing from this image.
RUN /usr/local/bin/pactum --version

ENV DATA_DIR=/data \
    BIND_ADDR=0.0.0.0:8080

WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8080

ENTRYPOINT ["/usr/local/bin/pactum"]
CMD ["serve"]
