# mailgate image: compile (better-sqlite3 is native) in a full toolchain stage, run on a slim
# non-root stage holding only dist/, production node_modules/ and package.json.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# better-sqlite3 builds its SQLite addon with node-gyp: python3, make and a C++ compiler.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (tsc) needs the sources, copied below; the one native addon is
# compiled from source instead of downloading a prebuilt binary.
RUN npm ci --ignore-scripts \
 && npm rebuild better-sqlite3 --build-from-source
COPY tsconfig.json tsconfig.build.json ./
COPY cli ./cli
COPY lib ./lib
COPY store ./store
COPY gateway ./gateway
COPY admin ./admin
COPY certs ./certs
COPY tokens ./tokens
COPY wireguard ./wireguard
RUN npm run build \
 && npm prune --omit=dev

FROM ${NODE_IMAGE} AS runtime
# Binding 443/80 as uid 10001: Docker gives a non-root user no effective capabilities, so node
# carries cap_net_bind_service as a file capability (bounded by compose's cap_add). setuid and
# setgid bits are stripped so no binary in the image can gain anything else.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin \
 && setcap cap_net_bind_service=+ep /usr/local/bin/node \
 && apt-get purge -y libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && find / -xdev -type f -perm /6000 -exec chmod a-s {} + \
 && groupadd --gid 10001 mailgate \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin mailgate \
 && mkdir -p /data \
 && chown 10001:10001 /data \
 && chmod 0700 /data
WORKDIR /app
# Root-owned and read-only for the mailgate user: the process cannot change its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
ENV NODE_ENV=production \
    MAILGATE_DATA_DIR=/data
USER 10001:10001
EXPOSE 443 80
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["serve"]
