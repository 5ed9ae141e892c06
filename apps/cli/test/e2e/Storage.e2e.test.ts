/**
 * Where state goes and what leaves the process, through the built `strata`:
 * `[storage]` on memory, files, Redis and PostgreSQL (127.0.0.1, a unique
 * key prefix / schema per test), `[telemetry]` to a real OTLP/HTTP receiver,
 * and `strata config show` with every effective value and its origin.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import {
  jsonLines,
  postgresUrl,
  providerToml,
  q,
  withModel,
  withPostgresSchema,
  withProject,
  withRedisPrefix
} from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const threadsOf = async (p: { strata: (a: ReadonlyArray<string>) => Promise<{ stdout: string }> }) =>
  JSON.parse((await p.strata(["threads", "list", "--json"])).stdout) as Array<{ id: string }>

describe.concurrent("[storage]", { timeout: 180_000 }, () => {
  it("kind and dir: files under the configured folder; memory keeps nothing", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "ok", repeat: true }] }, async (server) => {
        // covers: storage
        // covers: storage.kind
        // covers: storage.dir
        p.config(`${providerToml(server)}\n[storage]\nkind = "fs"\ndir = "state"\n`)
        expect((await p.strata(["run", "hi"])).code).toBe(0)
        expect(p.exists("state")).toBe(true)
        expect(await threadsOf(p)).toHaveLength(1)
        p.config(`${providerToml(server)}\n[storage]\nkind = "memory"\n`)
        expect((await p.strata(["run", "hi"])).code).toBe(0)
        expect(await threadsOf(p)).toHaveLength(0)
      })
    })
  })

  it("redis: url and prefix; the durability warning stays off stdout with --json", async () => {
    await withRedisPrefix("strata-e2e", async (prefix, redis) => {
      await withProject(async (p) => {
        await withModel({ turns: [{ text: "stored in redis" }] }, async (server) => {
          // covers: storage.url
          // covers: storage.prefix
          p.config(
            `${providerToml(server)}\n[storage]\nkind = "redis"\nurl = "redis://127.0.0.1:6379"\nprefix = ${q(prefix)}\n`
          )
          const run = await p.strata(["run", "--json", "hi"])
          expect(run.code, run.stderr).toBe(0)
          jsonLines(run.stdout) // every line parses
          expect(jsonLines(run.stdout).at(-1)).toMatchObject({ event: "run_result", output: "stored in redis" })
          const keys = await redis.keys(`${prefix}*`)
          expect(keys.length).toBeGreaterThan(0)
          expect(await threadsOf(p)).toHaveLength(1)
        })
      })
    })
  })

  it("postgres: url and schema", async () => {
    await withPostgresSchema("strata_e2e", async (schema, client) => {
      const url = postgresUrl
      await withProject(async (p) => {
        await withModel({ turns: [{ text: "stored in postgres" }] }, async (server) => {
          // covers: storage.schema
          p.config(`${providerToml(server)}\n[storage]\nkind = "postgres"\nurl = ${q(url)}\nschema = ${q(schema)}\n`)
          const run = await p.strata(["run", "hi"])
          expect(run.code, run.stderr).toBe(0)
          const tables = await client.query(
            "select table_name from information_schema.tables where table_schema = $1",
            [schema]
          )
          expect(tables.rows.length).toBeGreaterThan(0)
          expect(await threadsOf(p)).toHaveLength(1)
        })
      })
    })
  })
})

describe.concurrent("[telemetry]", { timeout: 180_000 }, () => {
  it("otlp_endpoint, service_name and headers: the turn's spans reach the collector", async () => {
    const received: Array<{ headers: Record<string, unknown>; body: any }> = []
    const collector = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c) => chunks.push(c))
      req.on("end", () => {
        if (req.url === "/v1/traces")
          received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) })
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve))
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`
    try {
      await withProject(async (p) => {
        await withModel({ turns: [{ text: "traced" }] }, async (server) => {
          // covers: telemetry
          // covers: telemetry.otlp_endpoint
          // covers: telemetry.service_name
          // covers: telemetry.headers
          p.config(
            `${providerToml(server)}\n[telemetry]\notlp_endpoint = ${q(endpoint)}\nservice_name = "e2e-agent"\nheaders = { x-collector-key = "k-123" }\n`
          )
          expect((await p.strata(["run", "hi"])).code).toBe(0)
        })
      })
      expect(received.length).toBeGreaterThan(0)
      expect(received[0]!.headers["x-collector-key"]).toBe("k-123")
      const spans = received.flatMap((r) =>
        (r.body.resourceSpans as Array<any>).flatMap((rs) => {
          const service = rs.resource.attributes.find((a: any) => a.key === "service.name")?.value.stringValue
          return rs.scopeSpans.flatMap((ss: any) => ss.spans.map((s: any) => `${service}:${s.name}`))
        })
      )
      expect(spans).toEqual(expect.arrayContaining(["e2e-agent:Runtime.turn", "e2e-agent:Runtime.modelCall"]))
    } finally {
      collector.close()
    }
  })
})

describe.concurrent("strata config show", { timeout: 120_000 }, () => {
  it("shows every effective value with its origin: default, file:line, env, cli", async () => {
    await withProject(async (p) => {
      const defaults = await p.strata(["config", "show"])
      expect(defaults.code, defaults.stderr).toBe(0)
      expect(defaults.stdout).toContain('approval_policy = "on-request"  # default')
      expect(defaults.stdout).toContain("max_turns = 20  # default")
      expect(defaults.stdout).toContain('storage.kind = "fs"  # default')
      expect(defaults.stdout).toContain("jobs.concurrency = 4  # default")
      expect(defaults.stdout).toContain("fs.max_depth  # default (@strata/plugin-fs)")
      p.config("max_turns = 7\n\n[jobs]\nconcurrency = 2\n\n[fs]\nmax_depth = 3\n")
      const layered = await p.strata(["config", "show"], { env: { STRATA_SYSTEM_PROMPT: "from env" } })
      expect(layered.stdout).toContain(`max_turns = 7  # ${p.dir}/.strata/config.toml:1`)
      expect(layered.stdout).toContain(`jobs.concurrency = 2  # ${p.dir}/.strata/config.toml:4`)
      expect(layered.stdout).toContain('system_prompt = "from env"  # env STRATA_SYSTEM_PROMPT')
      expect(layered.stdout).toContain('approval_policy = "on-request"  # default')
      // a plugin's own section is shown, not called unknown
      expect(layered.stdout).toContain(`fs.max_depth = 3  # ${p.dir}/.strata/config.toml:7`)
      expect(layered.stdout).not.toContain("unknown key")
      expect((await p.strata(["config", "validate"])).stdout).toBe("config ok\n")
      const json = JSON.parse((await p.strata(["config", "show", "--json"])).stdout) as {
        values: Record<string, { value: unknown; origin: string }>
      }
      expect(json.values["max_turns"]).toEqual({ value: 7, origin: `${p.dir}/.strata/config.toml:1` })
      expect(json.values["policy.builtin"]).toEqual({ value: true, origin: "default" })
    })
  })
})
