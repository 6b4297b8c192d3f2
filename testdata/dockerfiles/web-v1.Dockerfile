# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22
FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY . .
RUN go build -o /out/server ./cmd/server

FROM scratch AS runtime
COPY --from=build /out/server /app/server
ENV LOG_LEVEL=info \
    PORT=8080
ENTRYPOINT ["/app/server"]
USER 1000
EXPOSE 8080
