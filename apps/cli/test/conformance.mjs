// Cross-runtime conformance for `strata`: the built CLI run as a child process
// by the runtime running this file (Node, Bun or Deno): `--version`,
// `strata run` on the built-in demo model (a real tool call, a policy
// decision, an approval) with its exit codes and `--json`, and
// `strata policy check`.
//
//   npx turbo run build --filter=@strata/cli...
//   node apps/cli/test/conformance.mjs
//   ./node_modules/.bin/bun apps/cli/test/conformance.mjs
//   ./node_modules/.bin/deno run -A apps/cli/test/conformance.mjs
import assert from "node:assert/strict"
import { spawn, spawnSync } from "node:child_process"
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import { run, runtime, test } from "../../../scripts/conformance.mjs"

const bin = decodeURIComponent(new URL("../bin/strata.js", import.meta.url).pathname)
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
const prefix = runtime() === "deno" ? ["run", "-A"] : []

const strata = (dir, args) => {
  const r = spawnSync(process.execPath, [...prefix, bin, ...args], {
    cwd: dir,
    env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: "", STRATA_DEMO: "1", NO_COLOR: "1" },
    encoding: "utf8",
    input: "",
    timeout: 120_000
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const workspace = () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-conformance-"))
  writeFileSync(join(dir, "notes.md"), "# notes\n")
  return dir
}

test(`strata --version on ${runtime()}`, () => {
  const dir = workspace()
  try {
    const r = strata(dir, ["--version"])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim(), pkg.version)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test(`strata run on the demo model: a pending approval exits 3, --yes completes (${runtime()})`, () => {
  const dir = workspace()
  try {
    const paused = strata(dir, ["run", "show me around"])
    assert.equal(paused.code, 3, paused.stderr)
    assert.match(paused.stderr, /demo model: no provider configured/)
    assert.match(paused.stdout, /⏺ shell__exec\(ls\)/)
    assert.match(paused.stdout, /exit 0, 1 line: notes\.md/)
    assert.match(paused.stderr, /approval pending approval-\S+: touch strata-demo\.txt/)
    assert.equal(existsSync(join(dir, "strata-demo.txt")), false)
    const done = strata(dir, ["run", "--yes", "again"])
    assert.equal(done.code, 0, done.stderr)
    assert.match(done.stdout, /Done: strata-demo\.txt exists now\./)
    assert.equal(existsSync(join(dir, "strata-demo.txt")), true)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test(`strata run --json --approval never: JSON lines, the approval denied (${runtime()})`, () => {
  const dir = workspace()
  try {
    const r = strata(dir, ["run", "--json", "--approval", "never", "go"])
    assert.equal(r.code, 0, r.stderr)
    const events = r.stdout
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l))
    assert.ok(events.some((e) => e.event === "tool_call_start" && e.tool_name === "shell__exec"))
    assert.ok(events.some((e) => e.event === "tool_call_result" && e.result.status === "denied"))
    const last = events[events.length - 1]
    assert.equal(last.event, "run_result")
    assert.equal(last.outcome, "completed")
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test(`the one-shot commands' synchronous file system (${runtime()}): errors by reason, a FIFO without blocking`, async () => {
  const dir = workspace()
  try {
    const [Effect, Either, FileSystem, SyncFileSystem] = await Promise.all([
      import("effect/Effect"),
      import("effect/Either"),
      import("@effect/platform/FileSystem"),
      import("../dist/SyncFileSystem.js")
    ])
    const fs = Effect.runSync(Effect.provide(FileSystem.FileSystem, SyncFileSystem.layer))
    assert.equal(SyncFileSystem.isSync(fs), true)
    const run = (effect) => Effect.runPromise(Effect.either(Effect.scoped(effect)))
    const reason = (e) => (Either.isLeft(e) ? e.left.reason : "ok")
    assert.equal(reason(await run(fs.readFile(join(dir, "missing")))), "NotFound")
    assert.equal(reason(await run(fs.writeFileString(join(dir, "a.txt"), "one"))), "ok")
    assert.equal(reason(await run(fs.writeFileString(join(dir, "a.txt"), "two", { flag: "wx" }))), "AlreadyExists")
    assert.equal(reason(await run(fs.link(join(dir, "a.txt"), join(dir, "a.txt")))), "AlreadyExists")
    const appended = await run(
      Effect.flatMap(fs.open(join(dir, "a.txt"), { flag: "a" }), (f) => f.writeAll(new TextEncoder().encode("+")))
    )
    assert.equal(reason(appended), "ok")
    assert.equal((await run(fs.readFileString(join(dir, "a.txt")))).right, "one+")
    if (spawnSync("mkfifo", [join(dir, "pipe")]).status === 0) {
      // read before its writer opens it: handed to the asynchronous call, the event loop keeps running
      let ticks = 0
      const timer = setInterval(() => ticks++, 5)
      const read = run(fs.readFileString(join(dir, "pipe")))
      await new Promise((r) => setTimeout(r, 100))
      const writer = spawn("sh", ["-c", `printf fifo > '${join(dir, "pipe")}'`])
      const got = await read
      clearInterval(timer)
      writer.kill()
      assert.equal(got.right, "fifo")
      assert.ok(ticks > 5, `the event loop ran ${ticks} ticks while the read waited`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
test(`strata policy check (${runtime()})`, () => {
  const dir = workspace()
  try {
    const rules = join(dir, "rules.toml")
    writeFileSync(rules, 'default = "ask"\n[[rule]]\nprefix = ["git", "status"]\ndecision = "allow"\n')
    const allow = strata(dir, ["policy", "check", "--rules", rules, "--json", "--", "git", "status"])
    assert.equal(allow.code, 0, allow.stderr)
    assert.equal(JSON.parse(allow.stdout).decision, "allow")
    const ask = strata(dir, ["policy", "check", "--rules", rules, "--", "git status && rm -rf x"])
    assert.match(ask.stdout, /^ask: /)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

/** `strata` without blocking this process (the scripted model server answers from it). */
const strataAsync = (dir, args) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [...prefix, bin, ...args], {
      cwd: dir,
      env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: "", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

for (const plugins of ["@strata/plugin-fs", "@strata/plugin-fs/node"]) {
  test(`the fs tools on the session's Workspace, plugins = ["${plugins}"] (${runtime()})`, async () => {
    const dir = workspace()
    const outside = mkdtempSync(join(tmpdir(), "strata-conformance-out-"))
    const server = await ScriptedModelServer.start({
      turns: [
        { toolCalls: [{ name: "fs__write_file", arguments: { path: "n/a.txt", content: "from the model\n" } }] },
        { toolCalls: [{ name: "fs__write_file", arguments: { path: "out/x.txt", content: "x" } }] },
        { text: "done" }
      ]
    })
    try {
      symlinkSync(outside, join(dir, "out"))
      mkdirSync(join(dir, ".strata"))
      writeFileSync(
        join(dir, ".strata", "config.toml"),
        [
          `plugins = ["${plugins}"]`,
          'model = "scripted"',
          "[providers.local]",
          'kind = "openai-compatible"',
          `base_url = "${server.baseUrl("openai-compatible")}"`,
          "[[models]]",
          'id = "scripted"',
          'provider = "local"',
          "context_window = 32000",
          "max_output_tokens = 1000",
          ""
        ].join("\n")
      )
      const r = await strataAsync(dir, ["run", "--json", "--yes", "write"])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(readFileSync(join(dir, "n", "a.txt"), "utf8"), "from the model\n")
      const tools = server.requests.at(-1).messages.filter((m) => m.role === "tool")
      assert.match(tools[1].content, /outside the workspace/)
      assert.deepEqual(readdirSync(outside), [])
    } finally {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
      rmSync(outside, { recursive: true, force: true })
    }
  })
}

await run("@strata/cli")
