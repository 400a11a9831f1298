import { mulberry32 } from '../drill/prng.js';

// Seeded draws for the stream (the drill's mulberry32), so a seed gives the same stream everywhere.

const WORDS = (
  'alpha amber anchor apple arrow aspen atlas autumn badge bamboo basil beacon birch blossom breeze bridge ' +
  'brook cabin canyon carbon cedar chalk cherry cinder citrus cliff clover cobalt comet copper coral cotton ' +
  'crane crystal dawn delta desert drift dune eagle echo ember falcon fern field flint forest fossil frost ' +
  'garnet glacier granite harbor hazel heron hollow horizon indigo island ivory jade jasper juniper kelp ' +
  'lagoon lantern laurel lemon lilac linen lotus lunar maple marble meadow mesa mint mist moss nectar ' +
  'nickel nova oak ocean olive onyx orbit orchid pebble pepper pine plum polar prairie quartz quill radar ' +
  'raven reef ridge river robin saffron sage salt sand sapphire shadow shore silver slate spruce stone ' +
  'summit sunset swift thistle thunder tide timber topaz trail tulip tundra umber valley velvet violet ' +
  'walnut willow winter yarrow zephyr zinc'
).split(' ');
const HEX = '0123456789abcdef';

export class Rand {
  /** In [0, 1). */
  readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  bool(): boolean {
    return this.next() < 0.5;
  }

  id(prefix: string, hexChars: number): string {
    let s = prefix;
    for (let i = 0; i < hexChars; i++) s += HEX[this.int(16)];
    return s;
  }

  word(): string {
    return this.pick(WORDS);
  }

  /** Free text that no definition depends on. */
  sentence(): string {
    const n = 4 + this.int(8);
    const words = Array.from({ length: n }, () => this.word());
    return `${words.join(' ')} ${this.int(100_000)}`;
  }

  name(): string {
    const w = this.word();
    return `${w[0].toUpperCase()}${w.slice(1)} ${this.word().toUpperCase()[0]}.`;
  }

  email(): string {
    return `${this.word()}.${this.word()}${this.int(10_000)}@example.${this.pick(['com', 'org', 'net', 'io'])}`;
  }

  /** Unix seconds within 2026. */
  timestamp(): number {
    return 1_767_225_600 + this.int(365 * 86_400);
  }
}
