/**
 * A request body as text. One leading UTF-8 BOM (some Windows tools write one) marks the encoding, it
 * is not content: it is skipped here, for parsing and storing, while signatures cover the bytes as sent.
 */
export function bodyText(raw: Buffer): string {
  return raw.toString('utf8').replace(/^\uFEFF/, '');
}
