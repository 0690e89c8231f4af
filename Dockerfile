# syntax=docker/dockerfile:1
# Ensemble server image: build with dev dependencies, run on slim Node 20 with
# production dependencies and the compiled output only, as the non-root `node`
# user. scripts/prod-smoke.sh performs the same sequence without Docker.
#
#   docker build -t ensemble .
#   docker run --rm -p 5670:5670 -e API_KEYS=... -e DATABASE_URL=postgres://... ensemble

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: full install, compile apps/server and libs to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build

# ---- runtime: production dependencies + dist only ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=5670 \
    DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Folder of the embedded database, used only when DATABASE_URL is unset (single-node development).
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 5670
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||5670)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself (Nest shutdown hooks): no shell in between.
CMD ["node", "dist/apps/server/src/main.js"]
