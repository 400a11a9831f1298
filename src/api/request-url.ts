/**
 * The URL of a raw Node request (`req.url`), or null when it doesn't parse: the request line is the
 * client's, and `new URL()` throws on targets such as `//[` or `http://[/x`. Code outside Koa (the
 * WebSocket upgrade handler) must not let that throw: there it is an uncaught exception that ends the
 * process.
 */
export function requestUrl(raw: string | undefined): URL | null {
  try {
    return new URL(raw ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}
