# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22
FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY . .
RUN go build -o /out/server2 ./cmd/server

FROM scratch AS runtime
COPY --from=build /out/server2 /app/server2
ENV LOG_LEVEL=debug \
    PORT=8080
ENTRYPOINT ["/app/server2"]
USER 1000
EXPOSE 8080
