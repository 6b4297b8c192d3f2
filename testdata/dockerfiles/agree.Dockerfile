# escape=`
# Built by buildah in tests/cli/dockerfile.rs: what buildproof reads from this file
# must equal the config buildah writes into the image.
ARG BASE=scratch
ARG APP=/srv/app
FROM ${BASE} AS base
ENV A=1 `
    B="x y" `
    C='$A'
WORKDIR /srv
ARG APP
ENV APP_HOME=${APP}
FROM base AS final
ARG UID=1000
ENV LEGACY some words here
ENV D=${A}-${MISSING:-dflt}
WORKDIR app/../bin
USER ${UID}:${GID:-100}
CMD ["--port", "8080"]
ENTRYPOINT ["/srv/bin/server"]
HEALTHCHECK --interval=0.5m --timeout=1m30.5s --start-period=1500ms --retries=2 CMD ["/srv/bin/server", "--check"]
STOPSIGNAL SIGINT
EXPOSE 8080 53/udp
VOLUME ["/data"]
