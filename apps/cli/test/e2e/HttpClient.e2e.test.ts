/**
 * The HTTP client of model calls (issue 19): on Node, `strata` calls
 * providers through `node:http` (src/NodeHttpClient.ts) instead of `fetch`,
 * which loads Node's bundled undici on its first call. Each case runs the
 * built `strata` with the default client and with `STRATA_HTTP_CLIENT=fetch`
 * (the previous one) against the same scripted server, and expects the same
 * behaviour: the body streams as it arrives, an interrupt closes the
 * connection, errors are classified and retried alike, redirects are
 * followed as `fetch` follows them.
 */
import { execFile, execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Fault } from "@strata/testkit/ScriptedModel"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { jsonLines, type Project, providerToml, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..")

/** The built strata on another runtime (`runtime`: its command), in the project. */
const runOn = (runtime: ReadonlyArray<string>, p: Project, args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      runtime[0]!,
      [...runtime.slice(1), path.join(root, "apps/cli/bin/strata.js"), ...args],
      {
        cwd: p.dir,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: p.home, XDG_CONFIG_HOME: "", NO_COLOR: "1", ...env },
        timeout: 120_000
      },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== "number") reject(error)
        else resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr })
      }
    )
  })

const clients = [
  { name: "node:http (the default on Node)", env: {} },
  { name: "fetch", env: { STRATA_HTTP_CLIENT: "fetch" } }
] as const

const resultOf = (stdout: string) => jsonLines(stdout).find((e) => e.event === "run_result")!

/** A server on 127.0.0.1 that answers every request with `status` and `Location: <to>`. */
const withRedirect = async <A>(status: number, to: string, body: (url: string) => Promise<A>) => {
  const server = http.createServer((req, res) => {
    req.resume()
    res.writeHead(status, { location: `${to}${req.url ?? ""}` })
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  try {
    return await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

/**
 * An HTTPS server on 127.0.0.1 (a certificate made here, for 127.0.0.1) that
 * forwards every request to `upstream` and streams the answer back.
 */
const withTls = async <A>(upstream: string, body: (url: string, caFile: string) => Promise<A>) => {
  const dir = mkdtempSync(path.join(tmpdir(), "strata-tls-"))
  const key = path.join(dir, "key.pem")
  const cert = path.join(dir, "cert.pem")
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1"].concat([
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1"
    ]),
    { stdio: "ignore" }
  )
  const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    const forward = http.request(
      `${upstream}${req.url ?? ""}`,
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      }
    )
    req.pipe(forward)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  try {
    return await body(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, cert)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  }
}

describe.concurrent("the HTTP client of model calls", { timeout: 180_000 }, () => {
  it("the default client on Node is node:http, not fetch (which sends accept-encoding)", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "one" }, { text: "two" }] }, async (server) => {
        p.config(providerToml(server))
        for (const client of clients) {
          const run = await p.strata(["run", "--json", "hi"], { env: client.env })
          expect(run.code, `${client.name}: ${run.stderr}`).toBe(0)
          // a process variable, not a config key: no "unknown key" warning
          expect(run.stderr).not.toMatch(/http_client/)
        }
        const validate = await p.strata(["config", "validate"], { env: clients[1].env })
        expect(validate.stdout + validate.stderr).not.toMatch(/http_client/)
        expect(server.requests.map((r) => r.headers["accept-encoding"])).toEqual([undefined, "gzip, deflate"])
        // what a server sees otherwise is the same
        for (const r of server.requests) expect(r.headers).toMatchObject({ "user-agent": "node" })
      })
    })
  })

  for (const client of clients) {
    it(`${client.name}: streams chunk by chunk; SIGINT mid-stream closes the connection`, async () => {
      await withProject(async (p) => {
        // 60 chunks 100 ms apart: a client that buffered the body would show nothing for 6 s
        const text = "a very long answer ".repeat(12)
        await withModel({ turns: [{ text, chunkSize: 4, delayMs: 100 }] }, async (server) => {
          p.config(providerToml(server))
          const run = await p.strata(["run", "--json", "hi"], {
            env: client.env,
            signalWhen: { text: '"response_delta"', signal: "SIGINT" }
          })
          expect(run.code, run.stderr).toBe(130)
          expect(resultOf(run.stdout)).toMatchObject({ outcome: "interrupted" })
          // the server saw the client go away before it had written the whole body
          expect(await server.outcome(0)).toBe("aborted")
        })
      })
    })

    it(`${client.name}: a dropped stream, an error status and a refused connection fail and retry alike`, async () => {
      await withProject(async (p) => {
        await withModel(
          {
            turns: [
              { text: "PARTIAL that breaks off", chunkSize: 4, fault: Fault.disconnect(2) },
              { text: "the whole answer" },
              { text: "x", fault: Fault.serverError(503) },
              { text: "x", fault: Fault.serverError(503) }
            ]
          },
          async (server) => {
            p.config(providerToml(server, { extra: "max_retries = 1\nstream_retries = 1" }))
            const dropped = await p.strata(["run", "--json", "hi"], { env: client.env })
            expect(dropped.code, dropped.stderr).toBe(0)
            expect(resultOf(dropped.stdout)).toMatchObject({ outcome: "completed", output: "the whole answer" })
            expect(jsonLines(dropped.stdout).filter((e) => e.event === "response_retry")).toMatchObject([
              { reason: "Disconnected" }
            ])

            const failed = await p.strata(["run", "--json", "hi"], { env: client.env })
            expect(failed.code).toBe(1)
            expect(resultOf(failed.stdout)).toMatchObject({ outcome: "failed", error: { reason: "Overloaded" } })
            expect(server.requests).toHaveLength(4)
          }
        )
        // nothing listens on the port any more
        const closed = await withModel({}, async (server) => providerToml(server, { extra: "max_retries = 0" }))
        p.config(closed)
        const refused = await p.strata(["run", "--json", "hi"], { env: client.env })
        expect(refused.code).toBe(1)
        expect(resultOf(refused.stdout)).toMatchObject({ outcome: "failed", error: { reason: "Unavailable" } })
        expect(String((resultOf(refused.stdout).error as { message: string }).message)).toMatch(/ECONNREFUSED/)
      })
    })
  }

  for (const client of clients) {
    it(`${client.name}: a redirect to another protocol (file:) fails the call; nothing is read`, async () => {
      await withProject(async (p) => {
        await withRedirect(302, "file:///etc/passwd#", async (redirector) => {
          p.config(
            [
              'model = "scripted"',
              "[providers.local]",
              'kind = "openai-compatible"',
              `base_url = "${redirector}"`,
              "max_retries = 0",
              "[[models]]",
              'id = "scripted"',
              'provider = "local"',
              "context_window = 32000",
              "max_output_tokens = 1000",
              ""
            ].join("\n")
          )
          const run = await p.strata(["run", "--json", "hi"], { env: client.env })
          expect(run.code, run.stderr).toBe(1)
          expect(resultOf(run.stdout)).toMatchObject({ outcome: "failed", error: { reason: "Unavailable" } })
          expect(run.stdout + run.stderr).not.toMatch(/root:/)
        })
      })
    })
  }

  for (const client of clients) {
    it(`${client.name}: HTTPS: the certificate is checked (NODE_EXTRA_CA_CERTS trusts one); errors and answers as over HTTP`, async () => {
      await withProject(async (p) => {
        await withModel(
          { turns: [{ text: "x", fault: Fault.serverError(503) }, { text: "over TLS" }] },
          async (server) => {
            await withTls(server.url, async (url, caFile) => {
              p.config(providerToml(server, { extra: "max_retries = 0" }).replace(server.url, url))
              // an unknown issuer: refused before anything is sent
              const untrusted = await p.strata(["run", "--json", "hi"], { env: client.env })
              expect(untrusted.code).toBe(1)
              expect(resultOf(untrusted.stdout)).toMatchObject({ error: { reason: "Unavailable" } })
              expect(server.requests).toHaveLength(0)
              const trusted = await p.strata(["run", "--json", "hi"], {
                env: { ...client.env, NODE_EXTRA_CA_CERTS: caFile }
              })
              expect(trusted.code).toBe(1)
              expect(resultOf(trusted.stdout)).toMatchObject({ error: { reason: "Overloaded" } })
              const ok = await p.strata(["run", "--json", "hi"], {
                env: { ...client.env, NODE_EXTRA_CA_CERTS: caFile }
              })
              expect(ok.code, ok.stderr).toBe(0)
              expect(resultOf(ok.stdout)).toMatchObject({ output: "over TLS" })
            })
          }
        )
      })
    })
  }

  // Both clients, and the built strata on Bun and Deno (their own `fetch`):
  // `fetch` alone would forward `x-api-key` to the other origin (and Node
  // 20's could not resend the bytes it had sent: it detaches their buffer).
  const runners = [
    ...clients.map((c) => ({ name: c.name, env: c.env, runtime: undefined })),
    { name: "bun (fetch)", env: {}, runtime: [path.join(root, "node_modules/.bin/bun")] },
    { name: "deno (fetch)", env: {}, runtime: [path.join(root, "node_modules/.bin/deno"), "run", "-A"] }
  ]
  for (const runner of runners) {
    it.each([
      { kind: "openai-compatible", header: "authorization" },
      { kind: "anthropic", header: "x-api-key" }
    ] as const)(
      `${runner.name}: a 307 redirect resends the request, without the key ($header) on another origin`,
      async ({ kind, header }) => {
        await withProject(async (p) => {
          await withModel({ turns: [{ text: "redirected answer" }] }, async (server) => {
            await withRedirect(307, server.url, async (redirector) => {
              const toml = providerToml(server, { kind, extra: 'api_key_env = "E2E_KEY"' }).replace(
                server.url,
                redirector
              )
              p.config(toml)
              const env = { ...runner.env, E2E_KEY: "sk-e2e" }
              const run =
                runner.runtime === undefined
                  ? await p.strata(["run", "--json", "hi"], { env })
                  : await runOn(runner.runtime, p, ["run", "--json", "hi"], env)
              expect(run.code, run.stderr).toBe(0)
              expect(resultOf(run.stdout)).toMatchObject({ output: "redirected answer" })
              expect(server.requests).toHaveLength(1)
              // another port is another origin: the credentials stay behind
              expect(server.requests[0]!.headers[header]).toBeUndefined()
              expect(JSON.stringify(server.requests[0]!.headers)).not.toContain("sk-e2e")
              expect(server.requests[0]!.body).toMatchObject({ model: "scripted", stream: true })
            })
          })
        })
      }
    )
  }

  it("fetch: a 302 turns the POST into a GET without body, and the key stays behind", async () => {
    await withProject(async (p) => {
      const seen: Array<{ method: string | undefined; headers: http.IncomingHttpHeaders; body: string }> = []
      const target = http.createServer((req, res) => {
        let body = ""
        req.on("data", (d) => {
          body += d
        })
        req.on("end", () => {
          seen.push({ method: req.method, headers: req.headers, body })
          res.writeHead(404)
          res.end()
        })
      })
      await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve))
      try {
        const to = `http://127.0.0.1:${(target.address() as AddressInfo).port}`
        await withRedirect(302, to, async (redirector) => {
          // a scripted server's configuration, its address replaced by the redirector's
          await withModel({ turns: [] }, async (server) => {
            const toml = providerToml(server, {
              kind: "anthropic",
              extra: 'api_key_env = "E2E_KEY"\nmax_retries = 0'
            }).replace(server.url, redirector)
            p.config(toml)
          })
          const run = await p.strata(["run", "--json", "hi"], {
            env: { STRATA_HTTP_CLIENT: "fetch", E2E_KEY: "sk-e2e" }
          })
          expect(run.code).not.toBe(0)
          expect(seen.length).toBeGreaterThan(0)
          for (const r of seen) {
            expect(r.method).toBe("GET")
            expect(r.body).toBe("")
            expect(r.headers["x-api-key"]).toBeUndefined()
            expect(JSON.stringify(r.headers)).not.toContain("sk-e2e")
          }
        })
      } finally {
        target.closeAllConnections()
        await new Promise((resolve) => target.close(resolve))
      }
    })
  })
})
