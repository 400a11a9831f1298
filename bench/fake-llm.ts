import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// A stand-in for an OpenAI-compatible server, for the soak: it answers every chat completion at once,
// so that matching and agent runs go through the real `openai` client without a model. A JSON answer
// (the matcher asks for one) chooses no definition; any other gets a one-line reply.

export async function startFakeLlm(): Promise<{ baseURL: string; requests(): number; close(): Promise<void> }> {
  let requests = 0;
  let sequence = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      let body: { model?: string; response_format?: { type?: string } } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        // answered all the same
      }
      const content = body.response_format?.type === 'json_object' ? JSON.stringify({ definitionId: null, reason: 'bench' }) : 'Noted; nothing to do.';
      const out = JSON.stringify({
        id: `chatcmpl-bench-${++sequence}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model ?? 'bench',
        choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  server.keepAliveTimeout = 10 * 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests: () => requests,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
