# syntax=docker/dockerfile:1
# Multi-stage build: a static, CGO-free binary on a distroless base, run as
# a non-root user. The Go version matches go.mod.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/gavel . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gavel /usr/local/bin/gavel
COPY --from=build --chown=nonroot:nonroot /out/data /var/lib/gavel
COPY config.yaml /etc/gavel/config.yaml
USER nonroot:nonroot
WORKDIR /var/lib/gavel
# In a container set server.listen to "0.0.0.0:8080" (the example binds
# 127.0.0.1 for safety on a bare host).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/gavel"]
CMD ["serve", "--config", "/etc/gavel/config.yaml"]
