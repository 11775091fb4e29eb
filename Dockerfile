# syntax=docker/dockerfile:1
#
# Build:      docker build -t privateca-issuer:dev .
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 -t <repo>:<tag> --push .
#
# NOTE: CI has no Docker engine, so it checks this file's text (tests/chart.rs) and
# runs the same cargo build, but never builds the image itself.

# The build stage runs the same cargo command as the build check in .ci/run.
# Each platform of a multi-arch build gets its own target cache, because the
# platforms build in parallel and the release binary has the same path in both.
FROM rust:1-bookworm AS build
ARG TARGETPLATFORM
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,id=privateca-issuer-target-${TARGETPLATFORM} \
    cargo build --release --locked \
    && cp target/release/privateca-issuer /privateca-issuer

# distroless/cc has glibc and libgcc for the dynamically linked binary, CA
# certificates, no shell and no package manager. The binary writes no files,
# so it runs with a read-only root filesystem.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /privateca-issuer /usr/local/bin/privateca-issuer
USER 65532:65532
ENTRYPOINT ["privateca-issuer"]
CMD ["run"]
