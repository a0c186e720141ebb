# wpbench in a container, for `wpbench k8s render --image …` (docs/fleet.md,
# "Running on a fleet") or `docker run --privileged`.
#
#   docker build -t registry.example.com/wpbench:0.1 .
#   docker push registry.example.com/wpbench:0.1

FROM rust:1-bookworm AS build
WORKDIR /src
# Cargo.toml names the bench target, and the charts embed a font from assets/.
COPY Cargo.toml Cargo.lock ./
COPY harness harness
COPY benches benches
COPY assets assets
RUN cargo build --release --locked --bin wpbench \
 && install -D -m 0755 target/release/wpbench /out/wpbench

FROM debian:bookworm-slim
# mkfs.ext4 and mkfs.xfs are the only programs wpbench runs; the pod's
# script uses sh, tar, gzip, base64 and sha256sum from the base image.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      e2fsprogs xfsprogs ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/wpbench /usr/local/bin/wpbench
COPY scenarios /wpbench/scenarios
# `docker run … wpbench run scenarios/quickstart.yaml` writes to /wpbench/reports.
WORKDIR /wpbench
ENTRYPOINT ["wpbench"]
CMD ["--help"]
