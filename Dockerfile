# One image for both hookwise processes; docker-compose picks the entry point per service.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm install --omit=dev && npm cache clean --force
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY bin ./bin
COPY tsconfig.json ./
# The web console (/console), bundled into console/dist.
COPY console ./console
RUN npm run build:console
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "src/main/api.ts"]
