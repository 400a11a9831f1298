# One image for both hookwise processes; docker-compose picks the entry point per service.
# Build stage: compile TypeScript, bundle the workflows once, build the console (npm run build).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY console ./console
RUN npm run build

# Run stage: compiled JavaScript and production dependencies only. No tsx, no bundling at start,
# no embedded PostgreSQL (those are local tooling, dev dependencies).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
USER node
EXPOSE 3000 9464
CMD ["node", "dist/src/main/api.js"]
