/**
 * The ioredis options of a `redis://` or `rediss://` URL, for the
 * connections BullMQ makes itself (the jobs manager's workers, the CLI's
 * turns queue). No import: a process reads a URL without loading BullMQ or
 * ioredis.
 *
 * @since 0.2.0
 */

/**
 * Host, port, credentials, database and TLS from `url`, and
 * `maxRetriesPerRequest: null` (BullMQ's blocking connections need it).
 *
 * @since 0.2.0
 * @category constructors
 */
export const redisOptions = (url: string) => {
  const u = new URL(url)
  return {
    host: u.hostname || "127.0.0.1",
    port: u.port === "" ? 6379 : Number(u.port),
    ...(u.password === "" ? {} : { password: decodeURIComponent(u.password) }),
    ...(u.username === "" ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null
  }
}
