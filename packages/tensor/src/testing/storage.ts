import { storageStats } from '../storage.js';

/** What `f` allocated through the storage allocators (differences of `storageStats`, GC-independent). */
export interface StorageUse {
  bytes: number;
  buffers: number;
  reused: number;
  unowned: number;
  forcedGcs: number;
}

/** Runs `f` and returns what it allocated: new bytes and buffers, bytes reused, unowned bytes, forced GCs. */
export function storageUse(f: () => unknown): StorageUse {
  const a = storageStats();
  f();
  const b = storageStats();
  return {
    bytes: b.sharedBytesAllocated - a.sharedBytesAllocated,
    buffers: b.buffersAllocated - a.buffersAllocated,
    reused: b.bytesReused - a.bytesReused,
    unowned: b.unownedBytes - a.unownedBytes,
    forcedGcs: b.forcedGcs - a.forcedGcs,
  };
}
