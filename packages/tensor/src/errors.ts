/** Error thrown by @stade/tensor for invalid shapes, arguments or data. */
export class TensorError extends Error {
  override name = 'TensorError';
}

/** Formats a shape as `[2, 3]` for error messages. */
export const fmtShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** Throws a TensorError naming the op and both shapes. */
export function shapeMismatch(op: string, a: readonly number[], b: readonly number[], what = ''): never {
  throw new TensorError(`${op}: shape mismatch ${fmtShape(a)} vs ${fmtShape(b)}${what ? ` (${what})` : ''}`);
}
