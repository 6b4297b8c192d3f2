# syntax=docker/dockerfile:1
# Same startup as web-v1.Dockerfile, written differently: lower-case keywords,
# a continuation, comments, a heredoc and an ONBUILD that must not count.
arg GO_VERSION=1.22
from golang:${GO_VERSION} as build
workdir /src
copy . .
run <<EOF
go build -o /out/server ./cmd/server
ENTRYPOINT ["/not/the/entrypoint"]
EOF

from scratch as runtime
copy --from=build /out/server /app/server
env LOG_LEVEL=info PORT=8080
# the entrypoint, split over two lines
entrypoint [ \
    "/app/server" ]
onbuild USER root
user 1000
expose 8080/tcp
