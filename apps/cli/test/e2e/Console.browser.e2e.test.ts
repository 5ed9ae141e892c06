/**
 * The web console (`apps/console`, served by the built `strata serve` at
 * /console/) in a real browser: Debian's Chromium driven by playwright-core.
 * A turn started by a client that follows it to its end (as a CLI waits)
 * streams into the page (partial answers on screen before the whole); its
 * tool call is approved in the page and the waiting client's turn
 * continues; after a kill -9 and a restart the open page resumes its
 * stream; a job is paused and resumed from the page; a `read` token sees the approval but has no button, and the server
 * refuses it anyway; a hostile tool output (`<script>`, `<img onerror>`)
 * renders as text and runs nothing. The operator's tools (issue 22): the
 * policy playground shows a deny with its rule; a real MCP stdio server is
 * restarted from the page (its process starts again); "approve always"
 * adds a rule and the same command then runs without asking; a failed job
 * is retried from the page; a `read` token sees neither restart nor
 * approve nor retry, and the server refuses each (Forbidden). The static route answers with the
 * console's CSP and refuses traversal. Screenshots of every view go to
 * apps/console/test-results/ (git-ignored).
 *
 * Chromium: /usr/bin/chromium (`.ci/run` installs it); without it the test
 * is skipped, except under CI=true where it fails.
 */
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import * as StrataClient from "@strata/client/StrataClient"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt, repoRoot } from "../build.js"
import {
  call,
  fixtures,
  linkWorkspace,
  type Project,
  providerToml,
  q,
  startServe,
  withModel,
  withProject
} from "./harness.js"

const chromiumPath = process.env.STRATA_CHROMIUM ?? "/usr/bin/chromium"
const haveChromium = existsSync(chromiumPath)
const shots = path.join(repoRoot, "apps/console/test-results")

const HOSTILE = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold?</b>`

let browser: Browser | undefined

beforeAll(async () => {
  if (!haveChromium) {
    if (process.env.CI === "true") throw new Error(`${chromiumPath} is missing: .ci/run installs chromium`)
    return
  }
  ensureBuilt()
  mkdirSync(shots, { recursive: true })
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })
}, 300_000)

afterAll(async () => {
  await browser?.close()
})

const sha = (t: string) => createHash("sha256").update(t).digest("hex")

const startServer = (p: Project, env: Record<string, string>, args: ReadonlyArray<string> = ["--port", "0"]) =>
  startServe(p, args, env)

const rawGet = (base: string, target: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = http.request(`${base}/`, { method: "GET", path: target }, (response) => {
      let body = ""
      response.on("data", (d: Buffer) => {
        body += d
      })
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }))
    })
    request.on("error", reject)
    request.end()
  })

/**
 * Starts a turn and follows its events until it completes, as a client
 * waiting on the thread does (a turn paused for an approval ends with
 * `awaiting_approval` first, then continues once it is answered).
 */
const runTurn = async (client: StrataClient.StrataClient, threadId: string, prompt: string) => {
  const started = await client.call("turn/start", { thread_id: threadId, prompt })
  if (!("status" in started)) throw new Error("expected a running turn")
  const frames: Array<StrataClient.StreamItem> = []
  for await (const item of client.threadEvents(threadId, { after: started.after_seq })) {
    frames.push(item)
    if (item.type === "frame" && item.frame.event === "turn_ended" && item.frame.outcome === "completed") break
  }
  return frames.flatMap((i) => (i.type === "frame" ? [i.frame] : []))
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true })

describe("the web console in Chromium", { timeout: 180_000 }, () => {
  it.skipIf(!haveChromium && process.env.CI !== "true")(
    "streams a turn, approves it for a waiting client, resumes after a restart, pauses and retries jobs, restarts an MCP server, checks the policy, approves always as a rule, keeps a read token read-only, escapes hostile output",
    async () => {
      await withProject(async (p) => {
        linkWorkspace(p, ["@strata/plugin", "effect"])
        p.write("console.mjs", readFileSync(path.join(fixtures, "console-plugin.mjs"), "utf8"))
        const streamed = "Making the file now, one small piece at a time, so you can watch it arrive."
        await withModel(
          {
            turns: [
              { text: streamed, chunkSize: 4, delayMs: 40, ...call("shell__exec", { command: "touch approved.txt" }) },
              { text: "Done: approved.txt exists.", usage: { input_tokens: 120, output_tokens: 30 } },
              call("console__echo", { text: HOSTILE }),
              { text: "Echoed.", usage: { input_tokens: 200, output_tokens: 12 } },
              { text: "Said after the restart." },
              // a command whose display a bidi override would reverse: shown with the override visible
              call("shell__exec", { command: "touch refused.txt # \u202Etxt.exe" }),
              { text: "Not made." },
              // approved always in the page, then the same command again: no approval asked
              call("shell__exec", { command: "touch always.txt" }),
              { text: "Made always.txt." },
              call("shell__exec", { command: "touch always.txt" }),
              { text: "Made it again without asking." }
            ]
          },
          async (model) => {
            const starts = path.join(p.dir, "mcp-starts.log")
            p.config(
              [
                `plugins = ["./console.mjs"]`,
                providerToml(model),
                `[[server.tokens]]\nname = "reader"\nsha256 = "${sha("reader-secret")}"\nscopes = ["read"]`,
                `[mcp_servers.tools]\ncommand = ${q(process.execPath)}\nargs = ${JSON.stringify([path.join(fixtures, "mcp-stdio.mjs"), "--starts", starts])}\ntrust = "trusted"\nstartup_timeout = "60s"`,
                ""
              ].join("\n")
            )
            const startsCount = () =>
              p.exists("mcp-starts.log") ? p.read("mcp-starts.log").trim().split("\n").length : 0
            let served = await startServer(p, { STRATA_SERVER_TOKEN: "admin-secret" })
            try {
              const base = served.url
              expect(served.line.console).toBe(`${base}/console/`)
              const admin = StrataClient.make({ url: base, token: "admin-secret" })

              // the static route: types, CSP, no traversal, no token in the page
              const page0 = await fetch(`${base}/console/`)
              expect(page0.status).toBe(200)
              expect(page0.headers.get("content-type")).toBe("text/html; charset=utf-8")
              expect(page0.headers.get("content-security-policy")).toContain("script-src 'self'")
              expect(page0.headers.get("content-security-policy")).toContain("default-src 'none'")
              const html = await page0.text()
              expect(html).not.toContain("admin-secret")
              const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)![1]!
              expect((await fetch(`${base}${script}`)).headers.get("content-type")).toBe(
                "text/javascript; charset=utf-8"
              )
              expect((await fetch(`${base}/console`, { redirect: "manual" })).status).toBe(308)
              for (const evil of [
                "/console/..%2fpackage.json",
                "/console/%2e%2e/package.json",
                "/console/assets/..%2f..%2fpackage.json",
                "/console/..%5cpackage.json",
                "/console/%00index.html",
                "/console/.vite/manifest.json",
                "/console/assets"
              ]) {
                // sent as written (fetch would normalize the dots away)
                const r = await rawGet(base, evil)
                expect([r.status, evil]).toEqual([404, evil])
                expect(r.body).not.toContain("@strata")
              }

              const ctx = await browser!.newContext({ viewport: { width: 1200, height: 800 } })
              const page = await ctx.newPage()
              const pageErrors: Array<string> = []
              page.on("pageerror", (e) => pageErrors.push(e.message))
              await page.goto(`${base}/console/#token=admin-secret`)
              // the token leaves the address at once
              await expect.poll(() => page.url(), { timeout: 10_000 }).toBe(`${base}/console/`)
              await page.locator("[data-testid=scopes]").getByText("admin").waitFor()

              // a client starts a turn and waits for it, as `strata run` does; the page, open on the
              // thread, records every text its assistant block shows while the answer streams in
              const thread = await admin.call("thread/start", { name: "console demo" })
              await page.locator(`[data-thread="${thread.thread_id}"] button`).click()
              const view = page.locator(`[data-view=thread][data-thread-id="${thread.thread_id}"]`)
              await view.waitFor()
              // (page-side code as a string: this package's types have no DOM)
              await page.evaluate(`(() => {
                const seen = []
                globalThis.__texts = seen
                new MutationObserver(() => {
                  const pre = document.querySelector("[data-view=thread] [data-role=assistant] pre:last-child")
                  const text = pre === null ? "" : pre.textContent
                  if (text !== "" && seen.at(-1) !== text) seen.push(text)
                }).observe(document.body, { subtree: true, childList: true, characterData: true })
              })()`)
              const waiting = runTurn(admin, thread.thread_id, "make the file")
              await view.getByText(streamed).waitFor()
              const texts = await page.evaluate(() => (globalThis as { __texts?: Array<string> }).__texts ?? [])
              expect(texts.at(-1)).toBe(streamed)
              expect(texts.every((t) => streamed.startsWith(t))).toBe(true)
              // streamed: at least two partial answers were on screen before the whole one
              expect(texts.filter((t) => t.length < streamed.length).length).toBeGreaterThanOrEqual(2)
              await view.locator(".command", { hasText: "touch approved.txt" }).waitFor()
              await shot(page, "thread-waiting")

              // the approvals inbox, across threads: the exact command and why it asks
              await page.click("[data-nav=approvals]")
              const card = page.locator("[data-view=approvals] article").first()
              await card.locator(".command", { hasText: "touch approved.txt" }).waitFor()
              expect(await card.locator(".reason").textContent()).not.toBe("")
              await shot(page, "approvals")

              // a read token sees the approval, has no button, and the server refuses it
              const readerCtx = await browser!.newContext({ viewport: { width: 1200, height: 800 } })
              const reader = await readerCtx.newPage()
              await reader.goto(`${base}/console/#token=reader-secret`)
              await reader.locator("[data-testid=scopes]").getByText("read only").waitFor()
              await reader.click("[data-nav=approvals]")
              const readerCard = reader.locator("[data-view=approvals] article").first()
              await readerCard.locator("[data-testid=no-approve]").waitFor()
              expect(await readerCard.locator("[data-action=approve]").count()).toBe(0)
              const approvalId = await readerCard.getAttribute("data-approval")
              const refused = await reader.evaluate(async (id) => {
                const r = await fetch("/v1/rpc", {
                  method: "POST",
                  headers: { "content-type": "application/json", authorization: "Bearer reader-secret" },
                  body: JSON.stringify({
                    jsonrpc: "2.0",
                    id: 1,
                    method: "approval/resolve",
                    params: { approval_id: id, decision: "approve" }
                  })
                })
                return {
                  status: r.status,
                  body: (await r.json()) as { error: { code: number; data: { type: string } } }
                }
              }, approvalId)
              // a JSON-RPC error in the body (HTTP 200, as for every method's error)
              expect(refused.body.error).toMatchObject({ code: -32003, data: { type: "Forbidden" } })
              expect(await readerCard.locator("[data-action=approve-always]").count()).toBe(0)
              await shot(reader, "approvals-read-token")
              // covers: issue 22 part 4
              // nor a restart or a retry: no button, and the server refuses each (whoami says why)
              const direct = (method: string, params: unknown) =>
                reader.evaluate(
                  async ([m, p]) => {
                    const r = await fetch("/v1/rpc", {
                      method: "POST",
                      headers: { "content-type": "application/json", authorization: "Bearer reader-secret" },
                      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: m, params: p })
                    })
                    return (await r.json()) as { result?: unknown; error?: { code: number; data: { type: string } } }
                  },
                  [method, params] as const
                )
              expect((await direct("auth/whoami", {})).result).toMatchObject({
                name: "reader",
                scopes: ["read"],
                can: { approve: false, admin: false }
              })
              for (const [method, params] of [
                ["mcp/restart", { server_name: "tools" }],
                ["jobs/retry", { id: "job-any" }],
                ["approval/resolve", { approval_id: approvalId, decision: "approve_always" }]
              ] as const) {
                expect([method, (await direct(method, params)).error]).toEqual([
                  method,
                  expect.objectContaining({ code: -32003, data: expect.objectContaining({ type: "Forbidden" }) })
                ])
              }
              await reader.click("[data-nav=mcp]")
              await reader.locator('[data-mcp="tools"]').waitFor()
              expect(await reader.locator("[data-view=mcp] [data-action=restart]").count()).toBe(0)
              expect(p.exists("approved.txt")).toBe(false)

              // approved in the page: the waiting client's turn continues and ends
              await card.locator("[data-action=approve]").click()
              const seen = await waiting
              expect(seen).toContainEqual(expect.objectContaining({ event: "approval_decided", decision: "approved" }))
              expect(seen).toContainEqual(
                expect.objectContaining({
                  event: "message_appended",
                  message: expect.objectContaining({ role: "assistant", content: "Done: approved.txt exists." })
                })
              )
              expect(p.exists("approved.txt")).toBe(true)
              await page.locator(`[data-view=approvals]`).getByText("Nothing waits for approval.").waitFor()
              await page.click("[data-nav=threads]")
              await page.locator(`[data-thread="${thread.thread_id}"] button`).click()
              await view.locator("[data-turn-ended=completed]").waitFor()
              await view.getByText("Done: approved.txt exists.").waitFor()

              // a hostile tool output is text: nothing injected, nothing run
              await admin.call("turn/start", { thread_id: thread.thread_id, prompt: "echo it", wait: true })
              const output = view.locator("[data-testid=tool-output]").last()
              await expect.poll(async () => (await output.textContent()) ?? "", { timeout: 30_000 }).toBe(HOSTILE)
              expect(await view.locator("script, img, b").count()).toBe(0)
              expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined()
              await view.locator("[data-turn-ended=completed]").nth(1).waitFor()
              await shot(page, "thread")
              expect(await view.locator("[data-testid=thread-usage]").textContent()).toContain(
                "320 tokens in · 42 tokens out"
              )

              // the server dies hard and comes back on the same port: the open page resumes its stream
              const port = new URL(base).port
              await new Promise<void>((resolve) => {
                served.child.removeAllListeners("close")
                served.child.on("close", () => resolve())
                served.child.kill("SIGKILL")
              })
              served = await startServer(p, { STRATA_SERVER_TOKEN: "admin-secret" }, ["--port", port])
              expect(served.url).toBe(base)
              await runTurn(admin, thread.thread_id, "after a restart")
              await view.getByText("Said after the restart.").waitFor()
              await view.locator("[data-turn-ended=completed]").nth(2).waitFor()

              // jobs: live progress, paused and resumed from the page
              const job = await admin.call("jobs/enqueue", { name: "console__steps" })
              await page.click("[data-nav=jobs]")
              const row = page.locator(`[data-job="${job.id}"]`)
              await page.locator(`[data-job="${job.id}"][data-status=running]`).waitFor()
              await expect
                .poll(async () => Number(await row.locator("progress").getAttribute("value")), { timeout: 30_000 })
                .toBeGreaterThan(0)
              await row.locator("[data-action=pause]").click()
              await page.locator(`[data-job="${job.id}"][data-status=paused]`).waitFor()
              const paused = (await admin.call("jobs/get", { id: job.id })).progress ?? 0
              await new Promise((r) => setTimeout(r, 600))
              const still = await admin.call("jobs/get", { id: job.id })
              expect(still.status).toBe("paused")
              expect(still.progress ?? 0).toBeLessThanOrEqual(paused + 2)
              await shot(page, "jobs")
              await row.locator("[data-action=resume]").click()
              await page.locator(`[data-job="${job.id}"][data-status=running]`).waitFor()
              await expect
                .poll(async () => (await admin.call("jobs/get", { id: job.id })).progress ?? 0, { timeout: 30_000 })
                .toBeGreaterThan(still.progress ?? 0)
              await row.locator("[data-action=cancel]").click()
              await page.locator(`[data-job="${job.id}"][data-status=cancelled]`).waitFor()
              expect((await admin.call("jobs/history", { id: job.id })).map((h) => h.to)).toEqual(
                expect.arrayContaining(["running", "paused", "cancelled"])
              )

              // covers: issue 22 part 2
              // a failed job retried from the page: a new job of the same kind that completes
              const flaky = await admin.call("jobs/enqueue", { name: "console__flaky" })
              await page.locator(`[data-job="${flaky.id}"][data-status=failed]`).waitFor({ timeout: 30_000 })
              // a read token sees the failed job but no Retry button
              await reader.click("[data-nav=jobs]")
              await reader.locator(`[data-job="${flaky.id}"][data-status=failed]`).waitFor({ timeout: 30_000 })
              expect(await reader.locator(`[data-job="${flaky.id}"] [data-action]`).count()).toBe(0)
              p.write("flaky.ok", "")
              await page.locator(`[data-job="${flaky.id}"] [data-action=retry]`).click()
              const findRetried = async () =>
                (await admin.call("jobs/list", {})).find((j) => j.name === "console__flaky" && j.id !== flaky.id)
              await expect.poll(async () => (await findRetried()) !== undefined, { timeout: 30_000 }).toBe(true)
              const again = (await findRetried())!
              await page.locator(`[data-job="${again.id}"][data-status=completed]`).waitFor({ timeout: 30_000 })
              expect((await admin.call("jobs/get", { id: flaky.id })).status).toBe("failed")
              await shot(page, "jobs-retry")

              // covers: issue 22 part 2
              // MCP servers: a real stdio server, restarted from the page (its process starts again)
              await page.click("[data-nav=mcp]")
              const mcpRow = page.locator('[data-mcp="tools"]')
              await page.locator('[data-mcp="tools"][data-status=ready]').waitFor({ timeout: 60_000 })
              // started once per `strata serve` (this one and the one killed above)
              await expect.poll(startsCount, { timeout: 30_000 }).toBe(2)
              const restartsBefore = (await admin.call("mcp/status", {}))[0]!.restarts
              await mcpRow.locator("[data-action=restart]").click()
              await expect.poll(startsCount, { timeout: 60_000 }).toBe(3)
              await page.locator('[data-mcp="tools"][data-status=ready]').waitFor({ timeout: 60_000 })
              await expect
                .poll(async () => (await mcpRow.locator("[data-testid=restarts]").textContent()) ?? "", {
                  timeout: 30_000
                })
                .toBe(`${restartsBefore + 1} restarts`)
              expect((await admin.call("mcp/status", {}))[0]).toMatchObject({ server_name: "tools", status: "ready" })
              await shot(page, "mcp")

              // covers: issue 22 part 2
              // the policy playground: a denied command, with the rule that denies it
              await page.click("[data-nav=policy]")
              await page.fill("[data-view=policy] input[name=command]", "sudo rm -rf /")
              await page.click("[data-view=policy] button[type=submit]")
              await page.locator("[data-testid=policy-result][data-decision=deny]").waitFor()
              expect(await page.locator("[data-testid=policy-decision]").textContent()).toBe("deny")
              expect(await page.locator("[data-testid=policy-explanation]").textContent()).toContain("strata.toml")
              await shot(page, "policy")

              // tokens / cost per thread
              await page.click("[data-nav=usage]")
              const usageRow = page.locator(`[data-usage="${thread.thread_id}"]`)
              await usageRow.waitFor()
              await expect
                .poll(async () => (await usageRow.locator("td").allTextContents()).slice(1, 3), { timeout: 30_000 })
                .toEqual(["320", "42"]) // the two turns that reported usage: 120 + 200 in, 30 + 12 out
              await shot(page, "usage")

              // the status filter and the search of the threads list
              await admin.call("thread/start", { name: "another thread" })
              await page.click("[data-nav=threads]")
              await page.locator("[data-view=threads] tbody tr").nth(1).waitFor()
              await page.fill("[data-view=threads] input[name=search]", "console demo")
              await expect.poll(() => page.locator("[data-view=threads] tbody tr").count(), { timeout: 30_000 }).toBe(1)
              await page.fill("[data-view=threads] input[name=search]", "")
              await page.selectOption("[data-view=threads] select[name=status]", "failed")
              await expect.poll(() => page.locator("[data-view=threads] tbody tr").count(), { timeout: 30_000 }).toBe(0)
              await page.selectOption("[data-view=threads] select[name=status]", "")
              await shot(page, "threads")

              // a third turn: denied from the client; the reader's page saw its approval card go
              const third = runTurn(admin, thread.thread_id, "refuse")
              const pending = await (async () => {
                for (let i = 0; i < 200; i++) {
                  const list = await admin.call("approval/list", { thread_id: thread.thread_id })
                  if (list.length > 0) return list[0]!
                  await new Promise((r) => setTimeout(r, 50))
                }
                throw new Error("no approval for the third turn")
              })()
              await page.click("[data-nav=approvals]")
              const bidi = page.locator(`[data-view=approvals] [data-approval="${pending.id}"] .command`)
              await expect
                .poll(async () => (await bidi.textContent()) ?? "", { timeout: 30_000 })
                .toBe("touch refused.txt # \\u{202E}txt.exe")
              await admin.call("approval/resolve", { approval_id: pending.id, decision: "deny" })
              await page.locator("[data-view=approvals]").getByText("Nothing waits for approval.").waitFor()
              expect(await third).toContainEqual(
                expect.objectContaining({ event: "approval_decided", decision: "denied" })
              )
              expect(p.exists("refused.txt")).toBe(false)

              // covers: issue 22 part 4
              // approved always in the page: a rule in .strata/approved.toml; the same command then runs unasked
              const fourth = runTurn(admin, thread.thread_id, "make it always")
              await page.click("[data-nav=approvals]")
              const alwaysCard = page.locator("[data-view=approvals] article", { hasText: "touch always.txt" })
              await alwaysCard.locator("[data-action=approve-always]").click()
              expect(await fourth).toContainEqual(
                expect.objectContaining({ event: "approval_decided", decision: "approved" })
              )
              expect(p.exists("always.txt")).toBe(true)
              expect(p.read(".strata/approved.toml")).toContain('prefix = ["touch","always.txt"]')
              await page.click("[data-nav=policy]")
              await page.fill("[data-view=policy] input[name=command]", "touch always.txt")
              await page.click("[data-view=policy] button[type=submit]")
              await page.locator("[data-testid=policy-result][data-decision=allow]").waitFor()
              await shot(page, "policy-approved-always")
              // the CLI reads the same rule: `strata policy check` in the project allows it too
              const cliCheck = await p.strata(["policy", "check", "--json", "--", "touch", "always.txt"])
              expect(cliCheck.code, cliCheck.stderr).toBe(0)
              expect(JSON.parse(cliCheck.stdout)).toMatchObject({ decision: "allow" })
              rmSync(path.join(p.dir, "always.txt"))
              const fifth = await admin.call("turn/start", { thread_id: thread.thread_id, prompt: "again", wait: true })
              expect(fifth).toMatchObject({ outcome: "completed" })
              expect(p.exists("always.txt")).toBe(true)
              expect(
                (await admin.call("events/read", { thread_id: thread.thread_id })).events.filter(
                  (f) => f.event === "approval_requested" && f.command === "touch always.txt"
                ).length
              ).toBe(1)
              expect(pageErrors).toEqual([])
              await readerCtx.close()
              await ctx.close()
            } finally {
              served.child.kill("SIGKILL")
            }
          }
        )
      })
    }
  )
})
