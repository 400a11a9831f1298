import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The project's one test double: an LLM, replaced by a real HTTP server on loopback that speaks the
 * OpenAI chat-completions wire format, so the real `openai` client (timeouts, errors, parsing) runs.
 */

export interface FakeRequest {
  model: string;
  messages: any[];
  body: any;
}

/** A string is the assistant's content; the object form can also set status, delay or a raw body. */
export type FakeReply = string | { content?: string; status?: number; delayMs?: number; raw?: string };

export type FakeHandler = (req: FakeRequest) => FakeReply | Promise<FakeReply>;

export interface FakeLlm {
  /** Ends in `/v1`, as `OPENAI_BASE_URL` would. */
  baseURL: string;
  requests: FakeRequest[];
  script(handler: FakeHandler): void;
  close(): Promise<void>;
}

const defaultHandler: FakeHandler = () => JSON.stringify({ definitionId: null, reason: 'no script' });

export async function startFakeLlm(): Promise<FakeLlm> {
  let handler: FakeHandler = defaultHandler;
  const requests: FakeRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let sequence = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/chat/completions')) {
      return send(res, 404, errorBody(`no route ${req.method} ${path}`, 'not_found'));
    }
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      return send(res, 400, errorBody('request body is not JSON', 'invalid_request_error'));
    }
    const request: FakeRequest = { model: body.model, messages: body.messages ?? [], body };
    requests.push(request);

    let reply: FakeReply;
    try {
      reply = await handler(request);
    } catch (err) {
      // A throwing script shows up as a server error rather than a hung request.
      return send(res, 500, errorBody(`fake LLM script failed: ${(err as Error).message}`, 'server_error'));
    }
    const r = typeof reply === 'string' ? { content: reply } : reply;
    const status = r.status ?? 200;
    const out =
      r.raw ??
      (status >= 400
        ? errorBody(`fake LLM error ${status}`, 'server_error')
        : JSON.stringify({
            id: `chatcmpl-fake-${++sequence}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: request.model,
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content: r.content ?? null, refusal: null },
                logprobs: null,
                finish_reason: 'stop',
              },
            ],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          }));
    if (r.delayMs) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        send(res, status, out);
      }, r.delayMs);
      timers.add(timer);
    } else {
      send(res, status, out);
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    script(h) {
      handler = h;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // Delayed replies keep sockets open; drop them so close() doesn't wait for them.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, status: number, body: string): void {
  // The client may have given up (timeout) before a delayed reply is ready.
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
}

function errorBody(message: string, type: string): string {
  return JSON.stringify({ error: { message, type, param: null, code: null } });
}
