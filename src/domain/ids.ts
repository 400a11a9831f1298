import { createHash, randomBytes } from 'node:crypto';

export type IdPrefix =
  | 'org' | 'key' | 'wh' | 'evt' | 'dlv' | 'atm'
  | 'ws' | 'room' | 'src' | 'def' | 'rev' | 'item' | 'chat' | 'msg' | 'agent' | 'run' | 'inb' | 'op';

// Crockford base32: no I, L, O, U, so ids survive being read aloud or retyped.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * `${prefix}_` + a ULID-like body: 10 chars of millisecond timestamp then 16 chars of randomness,
 * so ids sort by creation time (to the millisecond) as plain strings.
 */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${encodeTime(Date.now())}${encodeRandom(randomBytes(10))}`;
}

// 48-bit timestamp in 10 base32 chars (50 bits; the top 2 are always zero).
function encodeTime(ms: number): string {
  let out = '';
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

// 80 random bits in 16 base32 chars, 5 bits at a time, most significant first.
function encodeRandom(bytes: Buffer): string {
  let value = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  for (let i = 0; i < 16; i++) {
    out = ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

/**
 * An id of another kind that is derived from `id` (same time and randomness, other prefix), for a
 * record that must exist at most once per `id`: a retry derives the same id and finds it taken.
 */
export function relatedId(prefix: IdPrefix, id: string): string {
  return `${prefix}_${id.slice(id.indexOf('_') + 1)}`;
}

/**
 * A deterministic id for the one record of kind `prefix` that `purpose` makes from `id` (for example
 * the `completed` and the `failed` event of one backlog item): the same inputs always give the same id,
 * different purposes never do.
 */
export function derivedId(prefix: IdPrefix, id: string, purpose: string): string {
  const digest = createHash('sha256').update(`${id}\n${purpose}`).digest();
  return `${prefix}_${id.slice(id.indexOf('_') + 1, id.indexOf('_') + 11)}${encodeRandom(digest.subarray(0, 10))}`;
}
