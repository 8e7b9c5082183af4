import { describe, expect, it } from 'vitest';
import { ARENA_MAX_PAGES, arenaWeightLimit } from './arena.js';

describe('resident arena limits', () => {
  it('keeps 64 MiB of every 4 GiB arena for kernel scratch (arithmetic beyond int32)', () => {
    // a bit shift of 4 GiB wraps to 0 in JavaScript: an arena then filled with weights to the last byte
    expect(arenaWeightLimit()).toBe(ARENA_MAX_PAGES * 65536 - 64 * 2 ** 20);
  });
});
