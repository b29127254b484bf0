# syntax=docker/dockerfile:1
# Paygate's container image: a static binary (SQLite's C code linked in) on
# a distroless base, running as a non-root user, with its SQLite database
# and master key in the volume /var/lib/paygate.
#
#   docker build -t paygate .
#   docker run -d --name paygate -p 8080:8080 -v paygate-data:/var/lib/paygate paygate
#   docker logs paygate                     # the first start's operator token and demo keys
#   docker exec paygate paygate demo keys   # the demo app's keys again
#
# Settings are PAYGATE_* variables (docker run -e …); see README.md, "Configuration".

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# cgo for SQLite's C code, linked statically so the binary needs no libc;
# netgo and osusergo keep the resolver and user lookups in Go.
RUN CGO_ENABLED=1 go build -trimpath -buildvcs=false \
      -tags netgo,osusergo,sqlite_omit_load_extension \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -linkmode external -extldflags -static" \
      -o /out/paygate ./cmd/paygate \
 && /out/paygate version \
 && mkdir -p /out/data

# distroless/static has CA certificates and time zones, and no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/paygate /usr/local/bin/paygate
# The volume's directory belongs to the image's non-root user (65532), so
# a new named volume starts out writable by it.
COPY --from=build --chown=65532:65532 /out/data /var/lib/paygate
ENV PAYGATE_ADDR=:8080 \
    PAYGATE_DATABASE=sqlite:/var/lib/paygate/paygate.db
WORKDIR /var/lib/paygate
VOLUME ["/var/lib/paygate"]
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/paygate", "healthcheck"]
# SIGTERM drains in-flight requests for up to 30 s: docker stop -t 40 lets it finish.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/paygate"]
CMD ["serve"]
