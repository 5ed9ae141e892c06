/**
 * The end-to-end harness: the built `strata` (`bin/strata.js`) run as a child
 * process in a fresh project directory with its own HOME, against real parts:
 * the testkit's scripted model servers (OpenAI / Anthropic / Ollama wire
 * formats on 127.0.0.1), real MCP servers, real hook scripts, plugins
 * installed with npm.
 *
 * Every test that proves a config key takes effect says so with a comment
 * `// covers: <dotted.key>` (records and list elements as `*`); see
 * `Coverage.test.ts`.
 */
import { type ChildProcess, type ChildProcessByStdio, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import * as path from "node:path"
import type { Readable, Writable } from "node:stream"
import { fileURLToPath } from "node:url"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import type { Turn } from "@strata/testkit/ScriptedModel"
import { bin, repoRoot } from "../build.js"

export { bin, repoRoot }

/** Where the e2e fixtures are. */
export const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures")

const require = createRequire(import.meta.url)

/** `@modelcontextprotocol/server-everything`'s entry (a real MCP server from npm). */
export const everything = require.resolve("@modelcontextprotocol/server-everything/dist/index.js")

/** How a run ended. */
export interface Run {
  readonly stdout: string
  readonly stderr: string
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface RunOptions {
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly stdin?: string | undefined
  /** Sends `signal` once stdout (or stderr) contains `text` (`delayMs` later when given). */
  readonly signalWhen?:
    | { readonly text: string; readonly signal: NodeJS.Signals; readonly delayMs?: number | undefined }
    | undefined
  /** Sends SIGKILL this many ms after the start (when the process still runs). */
  readonly killAfterMs?: number | undefined
  readonly timeoutMs?: number | undefined
}

/** A fresh project directory and home directory; removed by `cleanup`. */
export interface Project {
  readonly dir: string
  readonly home: string
  /** Writes a file under the project (directories created). */
  readonly write: (file: string, text: string) => string
  /** Writes a file under the home directory. */
  readonly writeHome: (file: string, text: string) => string
  /** Writes `.strata/config.toml`. */
  readonly config: (toml: string) => void
  readonly read: (file: string) => string
  readonly exists: (file: string) => boolean
  /** Runs `strata` in the project, HOME = the home directory, no inherited STRATA_* variables. */
  readonly strata: (args: ReadonlyArray<string>, options?: RunOptions) => Promise<Run>
  readonly cleanup: () => void
}

const writeUnder = (root: string, file: string, text: string) => {
  const full = path.join(root, file)
  mkdirSync(path.dirname(full), { recursive: true })
  writeFileSync(full, text)
  return full
}

/**
 * Spawns the built `strata <args>` in `cwd` with its own HOME, no XDG config
 * and no colour (then `env`): every e2e child process starts this way.
 */
export const spawnStrata = (
  cwd: string,
  home: string,
  args: ReadonlyArray<string>,
  options: {
    readonly env?: Readonly<Record<string, string>> | undefined
    readonly stdin?: "pipe" | "ignore" | undefined
  } = {}
): ChildProcessByStdio<Writable | null, Readable, Readable> =>
  spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, XDG_CONFIG_HOME: "", NO_COLOR: "1", ...options.env },
    stdio: [options.stdin ?? "pipe", "pipe", "pipe"]
  }) as ChildProcessByStdio<Writable | null, Readable, Readable>

/** Runs the built `strata` as a child process. */
export const runStrata = (
  cwd: string,
  home: string,
  args: ReadonlyArray<string>,
  options: RunOptions = {}
): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawnStrata(cwd, home, args, { env: options.env })
    let stdout = ""
    let stderr = ""
    let signalled = false
    const check = () => {
      const when = options.signalWhen
      if (when !== undefined && !signalled && (stdout.includes(when.text) || stderr.includes(when.text))) {
        signalled = true
        if (when.delayMs === undefined) child.kill(when.signal)
        else setTimeout(() => child.kill(when.signal), when.delayMs)
      }
    }
    child.stdout.on("data", (d) => {
      stdout += d
      check()
    })
    child.stderr.on("data", (d) => {
      stderr += d
      check()
    })
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(
        new Error(
          `strata ${args.join(" ")} did not finish within ${options.timeoutMs ?? 90_000} ms:\n${stdout}\n${stderr}`
        )
      )
    }, options.timeoutMs ?? 90_000)
    const killer =
      options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), options.killAfterMs)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      if (killer !== undefined) clearTimeout(killer)
      resolve({ stdout, stderr, code, signal })
    })
    child.stdin!.on("error", () => {})
    child.stdin!.end(options.stdin ?? "")
  })

/** A fresh project. */
export const project = (files: Readonly<Record<string, string>> = {}): Project => {
  const root = mkdtempSync(path.join(tmpdir(), "strata-e2e-"))
  const dir = path.join(root, "project")
  const home = path.join(root, "home")
  mkdirSync(dir)
  mkdirSync(home)
  for (const [file, text] of Object.entries(files)) writeUnder(dir, file, text)
  return {
    dir,
    home,
    write: (file, text) => writeUnder(dir, file, text),
    writeHome: (file, text) => writeUnder(home, file, text),
    config: (toml) => {
      writeUnder(dir, ".strata/config.toml", toml)
    },
    read: (file) => readFileSync(path.join(dir, file), "utf8"),
    exists: (file) => existsSync(path.join(dir, file)),
    strata: (args, options) => runStrata(dir, home, args, options),
    cleanup: () => rmSync(root, { recursive: true, force: true })
  }
}

/** Runs `body` with a fresh project, removed afterwards. */
export const withProject = async <A>(body: (p: Project) => Promise<A>, files?: Readonly<Record<string, string>>) => {
  const p = project(files)
  try {
    return await body(p)
  } finally {
    p.cleanup()
  }
}

/** A scripted model server for the duration of `body`. */
export const withModel = async <A>(
  options: ScriptedModelServer.Options,
  body: (server: ScriptedModelServer.ScriptedModelServer) => Promise<A>
) => {
  const server = await ScriptedModelServer.start(options)
  try {
    return await body(server)
  } finally {
    await server.close()
  }
}

/** A TOML string. */
export const q = (s: string) => JSON.stringify(s)

/**
 * A provider and one model on a scripted server: `model = "<id>"`, the
 * provider table and the model entry. `extra` lines go into the provider
 * table, `modelExtra` into the model entry.
 */
export const providerToml = (
  server: ScriptedModelServer.ScriptedModelServer,
  options: {
    readonly kind?: "openai-compatible" | "anthropic" | "ollama" | "deepseek" | "openrouter"
    readonly provider?: string
    readonly model?: string
    readonly selectModel?: boolean
    readonly extra?: string
    readonly modelExtra?: string
    readonly maxOutputTokens?: number
  } = {}
) => {
  const kind = options.kind ?? "openai-compatible"
  const provider = options.provider ?? "local"
  const model = options.model ?? "scripted"
  return [
    ...(options.selectModel === false ? [] : [`model = ${q(model)}`]),
    `[providers.${provider}]`,
    `kind = ${q(kind)}`,
    `base_url = ${q(server.baseUrl(kind))}`,
    ...(options.extra === undefined ? [] : [options.extra]),
    "[[models]]",
    `id = ${q(model)}`,
    `provider = ${q(provider)}`,
    "context_window = 32000",
    `max_output_tokens = ${options.maxOutputTokens ?? 1000}`,
    ...(options.modelExtra === undefined ? [] : [options.modelExtra]),
    ""
  ].join("\n")
}

/** The JSON lines of an output (every line must parse). */
export const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>
      } catch {
        throw new Error(`not a JSON line: ${l}`)
      }
    })

/** Waits until `check` holds (polling), failing with `what` after `limitMs`. */
export const eventually = async (check: () => boolean, what: string, limitMs = 30_000) => {
  const deadline = Date.now() + limitMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * Links workspace packages into the project's node_modules (as `npm install
 * <folder>` does): a local plugin file imports `@strata/plugin` and `effect`
 * from the project, as a real project's would.
 */
export const linkWorkspace = (p: Project, names: ReadonlyArray<string>) => {
  for (const name of names) {
    const target = path.dirname(require.resolve(`${name}/package.json`, { paths: [repoRoot] }))
    const link = path.join(p.dir, "node_modules", name)
    mkdirSync(path.dirname(link), { recursive: true })
    symlinkSync(target, link)
  }
}

/** The number of lines of a file (0 when it does not exist). */
export const lineCount = (file: string) =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "").length
    : 0

/** Appends a line to a file. */
export const appendLine = (file: string, line: string) => appendFileSync(file, `${line}\n`)

/** A scripted turn that calls one tool. */
export const call = (name: string, args: unknown, extra: Omit<Turn, "toolCalls"> = {}): Turn => ({
  ...extra,
  toolCalls: [{ name, arguments: args }]
})

/** The text of the last tool message a request carried. */
export const lastToolResult = (request: { readonly messages: ReadonlyArray<{ role: string; content: string }> }) =>
  [...request.messages].reverse().find((m) => m.role === "tool")?.content ?? ""

/** The local Redis the store tests use. */
export const redisUrl = "redis://127.0.0.1:6379"

/** The local PostgreSQL the store tests use (database `test`, trust auth). */
export const postgresUrl = "postgres://postgres@127.0.0.1:5432/test"

/**
 * Runs `body` with a fresh Redis key prefix (`<label>-<uuid>:`) and a connected
 * client, then deletes every key under the prefix.
 */
export const withRedisPrefix = async <A>(
  label: string,
  body: (prefix: string, redis: import("ioredis").default) => Promise<A>
): Promise<A> => {
  const Redis = require("ioredis") as typeof import("ioredis").default
  const redis = new Redis(redisUrl, { lazyConnect: true })
  const prefix = `${label}-${randomUUID()}:`
  try {
    await redis.connect()
    return await body(prefix, redis)
  } finally {
    const keys = await redis.keys(`${prefix}*`).catch(() => [])
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  }
}

/** Deletes every Redis key under each prefix (the queues and records a cluster test made). */
export const deleteRedisPrefixes = async (prefixes: ReadonlyArray<string>) => {
  if (prefixes.length === 0) return
  const Redis = require("ioredis") as typeof import("ioredis").default
  const redis = new Redis(redisUrl)
  try {
    for (const prefix of prefixes) {
      let cursor = "0"
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
        cursor = next
        if (keys.length > 0) await redis.del(...keys)
      } while (cursor !== "0")
    }
  } finally {
    redis.disconnect()
  }
}

/**
 * Runs `body` with a fresh PostgreSQL schema name (`<label>_<hex>`) and a
 * connected client, then drops the schema.
 */
export const withPostgresSchema = async <A>(
  label: string,
  body: (schema: string, client: import("pg").Client) => Promise<A>
): Promise<A> => {
  const pg = require("pg") as typeof import("pg")
  const schema = `${label}_${randomUUID().replace(/-/g, "").slice(0, 16)}`
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    return await body(schema, client)
  } finally {
    await client.query(`drop schema if exists "${schema}" cascade`)
    await client.end()
  }
}

/** A `strata serve` the test started: its URL, process, `listening` line and output so far. */
export interface Served {
  readonly url: string
  readonly child: ChildProcess
  readonly line: Record<string, unknown>
  readonly output: () => string
}

/**
 * Starts the built `strata serve <args>` in the project (HOME = the project's
 * home) and resolves once it prints its `listening` line; rejects when it
 * exits first or does not start within a minute.
 */
export const startServe = (p: Project, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<Served>((resolve, reject) => {
    const child = spawnStrata(p.dir, p.home, ["serve", ...args], { env, stdin: "ignore" })
    let out = ""
    const timer = setTimeout(() => reject(new Error(`strata serve did not start:\n${out}`)), 60_000)
    child.stdout!.on("data", (d: Buffer) => {
      out += d
      const line = out.split("\n").find((l) => l.includes('"listening"'))
      if (line !== undefined) {
        clearTimeout(timer)
        const parsed = JSON.parse(line) as Record<string, unknown>
        resolve({ url: parsed.url as string, child, line: parsed, output: () => out })
      }
    })
    child.stderr!.on("data", (d: Buffer) => {
      out += d
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      reject(new Error(`strata serve exited (${code}):\n${out}`))
    })
  })
