/** Error thrown by @stade/prune for bad options or data; the message names the offending value and layer. */
export class PruneError extends Error {
  override name = 'PruneError';
}
