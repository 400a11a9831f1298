import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// A stand-in for an OpenAI-compatible server, for the benchmarks: it answers every chat completion,
// so that matching and agent runs go through the real `openai` client without a model. By default (the
// soak) a JSON answer (the matcher asks for one) chooses no definition and any other gets a one-line
// reply; bench:llm passes `answer` to play a model that judges.

export interface ChatCompletionRequest {
  model?: string;
  messages?: Array<{ role: string; content: string }>;
  response_format?: { type?: string };
}

export interface FakeLlmOptions {
  /** The assistant's content for a request; a throw is answered 500 with its message. */
  answer?: (body: ChatCompletionRequest) => string;
  /** Wait this long before answering each request (a real model takes a while). */
  delayMs?: number;
}

const defaultAnswer = (body: ChatCompletionRequest) =>
  body.response_format?.type === 'json_object' ? JSON.stringify({ definitionId: null, reason: 'bench' }) : 'Noted; nothing to do.';

export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<{ baseURL: string; requests(): number; close(): Promise<void> }> {
  const answer = options.answer ?? defaultAnswer;
  let requests = 0;
  let sequence = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      let body: ChatCompletionRequest = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        // answered all the same
      }
      let status = 200;
      let out: string;
      try {
        out = JSON.stringify({
          id: `chatcmpl-bench-${++sequence}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model ?? 'bench',
          choices: [{ index: 0, message: { role: 'assistant', content: answer(body), refusal: null }, logprobs: null, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        });
      } catch (err) {
        status = 500;
        out = JSON.stringify({ error: { message: `stand-in LLM failed: ${(err as Error).message}`, type: 'server_error', param: null, code: null } });
      }
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      };
      if (!options.delayMs) return send();
      const t = setTimeout(() => {
        timers.delete(t);
        send();
      }, options.delayMs);
      timers.add(t);
    });
  });
  server.keepAliveTimeout = 10 * 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests: () => requests,
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
