FROM alpine
RUN true
ENTRYPOIN ["/app/server"]
