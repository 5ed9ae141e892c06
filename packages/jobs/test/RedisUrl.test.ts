import { redisOptions } from "@strata/jobs/RedisUrl"
import { describe, expect, it } from "vitest"

describe("RedisUrl.redisOptions", () => {
  it("reads host, port and BullMQ's maxRetriesPerRequest from a plain URL", () => {
    expect(redisOptions("redis://127.0.0.1:6380")).toEqual({
      host: "127.0.0.1",
      port: 6380,
      maxRetriesPerRequest: null
    })
  })

  it("defaults the host and port", () => {
    expect(redisOptions("redis:///2")).toEqual({ host: "127.0.0.1", port: 6379, db: 2, maxRetriesPerRequest: null })
  })

  it("decodes credentials, reads the database and turns on TLS for rediss:", () => {
    expect(redisOptions("rediss://us%40er:p%3Ass@cache.internal/3")).toEqual({
      host: "cache.internal",
      port: 6379,
      username: "us@er",
      password: "p:ss",
      db: 3,
      tls: {},
      maxRetriesPerRequest: null
    })
  })

  it("fails on a value that is not a URL", () => {
    expect(() => redisOptions("127.0.0.1:6379 x")).toThrow()
  })
})
