import { describe, expect, it } from 'vitest';
import { browserPlatform, MAILBOX_BYTES, readMailbox, writeMailbox } from './browser.js';

describe('browser pool backend (pieces testable outside a browser)', () => {
  it('is not selected outside a cross-origin-isolated worker (Node has no Web Worker global)', () => {
    expect(browserPlatform()).toBeNull();
  });

  it('error mailbox round-trips an error report once, then reads empty', () => {
    const box = new SharedArrayBuffer(MAILBOX_BYTES);
    expect(readMailbox(box)).toBeUndefined();
    writeMailbox(box, { name: 'TensorError', message: 'bad shape é ✓', stack: 'at x' });
    expect(readMailbox(box)).toEqual({ name: 'TensorError', message: 'bad shape é ✓', stack: 'at x' });
    expect(readMailbox(box)).toBeUndefined();
  });

  it('a report too large for the mailbox keeps its name and the start of its message', () => {
    const box = new SharedArrayBuffer(MAILBOX_BYTES);
    writeMailbox(box, { name: 'Error', message: 'x'.repeat(MAILBOX_BYTES * 2), stack: 's'.repeat(10) });
    const r = readMailbox(box) as { name: string; message: string; stack?: string };
    expect(r.name).toBe('Error');
    expect(r.message).toBe('x'.repeat(4096));
    expect(r.stack).toBeUndefined();
  });
});
