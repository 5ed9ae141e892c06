// `node:crypto` as @effect/platform-node-shared's FileSystem sees it in the
// bundles (scripts/bundle.mjs): it only takes `randomBytes` (the names of
// `makeTempFile`'s files), which the Web Crypto API gives as well. Importing
// `node:crypto` itself would load the whole module (ciphers, key generation,
// X.509, ...) at every start-up; `globalThis.crypto` loads only its random
// source and digests, which the runtime uses anyway.
export const randomBytes = (size) => {
  const bytes = new Uint8Array(size)
  // getRandomValues fills at most 65536 bytes at once
  for (let at = 0; at < size; at += 65536) globalThis.crypto.getRandomValues(bytes.subarray(at, at + 65536))
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
