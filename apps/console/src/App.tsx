/**
 * The console's views. Lists poll through `@strata/client`; a live thread
 * follows the server's SSE stream (resumed with `Last-Event-ID` after a
 * reconnect). What a token may do is asked of the server once
 * (`auth/whoami`): the page hides what the token cannot do, and the server
 * refuses it anyway whatever the page does.
 */

import { StrataClient } from "@strata/client"
import type { EventFrame } from "@strata/protocol/Event"
import type { JobRecord } from "@strata/protocol/Job"
import type { McpServerStatus } from "@strata/protocol/Mcp"
import type * as Rpc from "@strata/protocol/Rpc"
import type { Thread } from "@strata/protocol/Thread"
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks"

type Client = StrataClient.StrataClient
type View = "threads" | "thread" | "approvals" | "jobs" | "mcp" | "policy" | "usage"

interface Caps {
  readonly prompt: boolean
  readonly approve: boolean
  readonly admin: boolean
}

const errorText = (e: unknown) =>
  e instanceof StrataClient.StrataRpcError ? `${e.type}: ${e.message}` : e instanceof Error ? e.message : String(e)

const usePoll = <A,>(load: () => Promise<A>, ms: number, deps: ReadonlyArray<unknown>) => {
  const [value, setValue] = useState<A | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let live = true
    let timer: ReturnType<typeof setTimeout> | undefined
    const run = async () => {
      try {
        const next = await load()
        if (!live) return
        setValue(next)
        setError(undefined)
      } catch (e) {
        if (live) setError(errorText(e))
      }
      if (live) timer = setTimeout(run, ms)
    }
    void run()
    return () => {
      live = false
      if (timer !== undefined) clearTimeout(timer)
    }
  }, [...deps, tick])
  return { value, error, refresh: () => setTick((t) => t + 1) }
}

const when = (ms: number | undefined) =>
  ms === undefined ? "" : new Date(ms).toISOString().replace("T", " ").slice(0, 19)

/**
 * A command as a person must see it before approving it: control, zero-width
 * and bidirectional-override characters (which can make a command look like
 * another) shown as `\u{…}` instead of acting on the display.
 */
export const visible = (text: string): string =>
  text.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g,
    (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}}`
  )

const json = (value: unknown) => {
  try {
    return JSON.stringify(value, null, 2) ?? ""
  } catch {
    return String(value)
  }
}

export const App = ({ initialToken }: { initialToken: string | undefined }) => {
  const [token, setToken] = useState(initialToken)
  const [auth, setAuth] = useState<string | undefined>(undefined)
  const [caps, setCaps] = useState<Caps | undefined>(undefined)
  const [view, setView] = useState<View>("threads")
  const [threadId, setThreadId] = useState<string | undefined>(undefined)
  const [problem, setProblem] = useState<string | undefined>(undefined)
  const client = useMemo(() => StrataClient.make({ url: location.origin, token }), [token])

  useEffect(() => {
    let live = true
    setCaps(undefined)
    void (async () => {
      try {
        const info = await client.info()
        if (!live) return
        setAuth(info.auth)
        if (info.auth === "bearer" && token === undefined) return
        const me = await client.call("auth/whoami", {})
        if (live) setCaps({ prompt: me.can.prompt, approve: me.can.approve, admin: me.can.admin })
        setProblem(undefined)
      } catch (e) {
        if (live) setProblem(errorText(e))
      }
    })()
    return () => {
      live = false
    }
  }, [client])

  const open = useCallback((id: string) => {
    setThreadId(id)
    setView("thread")
  }, [])

  if (auth === "bearer" && (token === undefined || problem !== undefined)) {
    return (
      <TokenForm
        problem={problem}
        onToken={(t) => {
          sessionStorage.setItem("strata.token", t)
          setProblem(undefined)
          setToken(t)
        }}
      />
    )
  }
  if (caps === undefined) {
    return <main class="loading">{problem === undefined ? "Connecting…" : <p class="error">{problem}</p>}</main>
  }
  const tabs: Array<[View, string]> = [
    ["threads", "Threads"],
    ["approvals", "Approvals"],
    ["jobs", "Jobs"],
    ["mcp", "MCP servers"],
    ["policy", "Policy"],
    ["usage", "Tokens & cost"]
  ]
  return (
    <div class="shell">
      <header>
        <strong>Strata console</strong>
        <nav>
          {tabs.map(([v, label]) => (
            <button type="button" key={v} data-nav={v} class={view === v ? "active" : ""} onClick={() => setView(v)}>
              {label}
            </button>
          ))}
        </nav>
        <span class="scopes" data-testid="scopes">
          {[caps.prompt ? "prompt" : "", caps.approve ? "approve" : "", caps.admin ? "admin" : ""]
            .filter((s) => s !== "")
            .join(" · ") || "read only"}
        </span>
        {token !== undefined && (
          <button
            type="button"
            onClick={() => {
              sessionStorage.removeItem("strata.token")
              setToken(undefined)
            }}
          >
            Sign out
          </button>
        )}
      </header>
      <main>
        {view === "threads" && <Threads client={client} onOpen={open} />}
        {view === "thread" && threadId !== undefined && (
          <LiveThread key={threadId} client={client} threadId={threadId} caps={caps} />
        )}
        {view === "approvals" && <Approvals client={client} caps={caps} onOpen={open} />}
        {view === "jobs" && <Jobs client={client} caps={caps} />}
        {view === "mcp" && <Mcp client={client} caps={caps} />}
        {view === "policy" && <PolicyPlayground client={client} />}
        {view === "usage" && <UsageView client={client} onOpen={open} />}
      </main>
    </div>
  )
}

const TokenForm = ({ problem, onToken }: { problem: string | undefined; onToken: (token: string) => void }) => {
  const [value, setValue] = useState("")
  return (
    <main class="login">
      <h1>Strata console</h1>
      <p>This server needs a token (`strata serve hash-token` makes one).</p>
      {problem !== undefined && <p class="error">{problem}</p>}
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (value.trim() !== "") onToken(value.trim())
        }}
      >
        <input
          type="password"
          name="token"
          autocomplete="off"
          placeholder="token"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <button type="submit">Open</button>
      </form>
    </main>
  )
}

const statuses = ["running", "idle", "completed", "failed", "paused", "archived"] as const

const Threads = ({ client, onOpen }: { client: Client; onOpen: (id: string) => void }) => {
  const [status, setStatus] = useState("")
  const [search, setSearch] = useState("")
  const [archived, setArchived] = useState(false)
  const { value, error } = usePoll(
    () => client.call("thread/list", { include_archived: archived, limit: 500 }).then((r) => r.threads),
    2000,
    [client, archived]
  )
  const needle = search.trim().toLowerCase()
  const shown = (value ?? []).filter(
    (t: Thread) =>
      (status === "" || t.status === status) &&
      (needle === "" || `${t.id} ${t.name ?? ""} ${t.preview}`.toLowerCase().includes(needle))
  )
  return (
    <section data-view="threads">
      <h2>Threads</h2>
      <div class="filters">
        <input
          type="search"
          name="search"
          placeholder="search"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        <select name="status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          <option value="">any status</option>
          {statuses.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <label>
          <input type="checkbox" checked={archived} onChange={(e) => setArchived(e.currentTarget.checked)} /> archived
        </label>
      </div>
      {error !== undefined && <p class="error">{error}</p>}
      <table>
        <thead>
          <tr>
            <th>thread</th>
            <th>status</th>
            <th>preview</th>
            <th>updated</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((t) => (
            <tr key={t.id} data-thread={t.id}>
              <td>
                <button type="button" class="link" onClick={() => onOpen(t.id)}>
                  {t.name ?? t.id}
                </button>
              </td>
              <td>
                <span class={`status ${t.status}`}>{t.status}</span>
                {t.archived === true ? " (archived)" : ""}
              </td>
              <td class="preview">{t.preview}</td>
              <td>{when(t.updated_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {value !== undefined && shown.length === 0 && <p class="empty">No thread matches.</p>}
    </section>
  )
}

const toolText = (result: unknown): string => {
  const r = result as {
    status?: string
    output?: { content?: ReadonlyArray<{ type: string; text?: string }> }
    error?: string
    reason?: string
  }
  if (r.status === "completed") {
    return (r.output?.content ?? []).map((p) => (p.type === "text" ? (p.text ?? "") : `[${p.type}]`)).join("\n")
  }
  return `${r.status ?? "?"}: ${r.error ?? r.reason ?? ""}`
}

const Decide = ({ client, approval, caps }: { client: Client; approval: Rpc.Approval; caps: Caps }) => {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>(undefined)
  const [done, setDone] = useState<string | undefined>(undefined)
  const [rules, setRules] = useState<ReadonlyArray<string> | undefined>(undefined)
  const decide = async (decision: "approve" | "approve_always" | "deny") => {
    setBusy(true)
    try {
      const answer = await client.call("approval/resolve", { approval_id: approval.id, decision })
      setRules(answer.rules)
      setDone(answer.approval.status)
    } catch (e) {
      setError(errorText(e))
    }
    setBusy(false)
  }
  if (done !== undefined) {
    return (
      <span class={`decided ${done}`}>
        {done}
        {rules !== undefined && (
          <span data-testid="rules-added">
            {rules.length === 0
              ? " · no rule added: every command here needs a person each time"
              : ` · rule${rules.length === 1 ? "" : "s"} added:`}
            {rules.length > 0 && <pre class="rules">{visible(rules.join("\n"))}</pre>}
          </span>
        )}
      </span>
    )
  }
  return (
    <span class="decide">
      {caps.approve ? (
        <>
          <button type="button" data-action="approve" disabled={busy} onClick={() => decide("approve")}>
            Approve once
          </button>
          {approval.command !== undefined && (
            <button
              type="button"
              data-action="approve-always"
              disabled={busy}
              title="Approve, and add an allow rule for exactly these commands (.strata/approved.toml)"
              onClick={() => decide("approve_always")}
            >
              Approve always (rule)
            </button>
          )}
          <button type="button" data-action="deny" disabled={busy} onClick={() => decide("deny")}>
            Deny
          </button>
        </>
      ) : (
        <span class="muted" data-testid="no-approve">
          this token cannot approve
        </span>
      )}
      {error !== undefined && <span class="error">{error}</span>}
    </span>
  )
}

interface Usage {
  input: number
  output: number
  cost: number
}

const LiveThread = ({ client, threadId, caps }: { client: Client; threadId: string; caps: Caps }) => {
  const [frames, setFrames] = useState<Array<EventFrame>>([])
  const [approvals, setApprovals] = useState<Record<string, Rpc.Approval>>({})
  const [streamError, setStreamError] = useState<string | undefined>(undefined)
  const [prompt, setPrompt] = useState("")
  const [sendError, setSendError] = useState<string | undefined>(undefined)
  const bottom = useRef<HTMLDivElement>(null)

  useEffect(() => {
    const abort = new AbortController()
    void (async () => {
      try {
        for await (const item of client.threadEvents(threadId, { signal: abort.signal, maxRetries: 1000 })) {
          if (item.type === "frame") setFrames((f) => [...f, item.frame])
          else setApprovals((a) => ({ ...a, [item.approval.id]: item.approval }))
        }
      } catch (e) {
        if (!abort.signal.aborted) setStreamError(errorText(e))
      }
    })()
    return () => abort.abort()
  }, [client, threadId])
  useEffect(() => bottom.current?.scrollIntoView?.({ block: "end" }), [frames.length])

  const decided = new Set(frames.flatMap((f) => (f.event === "approval_decided" ? [f.approval_id] : [])))
  const usage: Usage = { input: 0, output: 0, cost: 0 }
  const responses = new Map<string, { text: string; reasoning: string; messageId?: string | undefined }>()
  const results = new Map<string, unknown>()
  const discarded = new Set<string>()
  for (const f of frames) {
    if (f.event === "turn_ended" && f.usage !== undefined) {
      usage.input += f.usage.input_tokens
      usage.output += f.usage.output_tokens
      usage.cost += f.usage.cost_usd ?? 0
    }
    if (f.event === "response_delta") {
      const r = responses.get(f.response_id) ?? { text: "", reasoning: "" }
      if (f.channel === "reasoning") r.reasoning += f.delta
      else r.text += f.delta
      responses.set(f.response_id, r)
    }
    if (f.event === "response_end") {
      const r = responses.get(f.response_id) ?? { text: "", reasoning: "" }
      r.messageId = f.message_id
      responses.set(f.response_id, r)
    }
    if (f.event === "tool_call_result") results.set(f.call_id, f.result)
    // A response that broke off and was made again: what it streamed is not the answer.
    if (f.event === "response_retry") discarded.add(f.response_id)
  }
  const streamed = new Set([...responses.values()].map((r) => r.messageId).filter((id) => id !== undefined))

  const send = async (e: Event) => {
    e.preventDefault()
    if (prompt.trim() === "") return
    try {
      await client.call("turn/start", { thread_id: threadId, prompt })
      setPrompt("")
      setSendError(undefined)
    } catch (err) {
      setSendError(errorText(err))
    }
  }

  return (
    <section data-view="thread" data-thread-id={threadId}>
      <h2>
        Thread <code>{threadId}</code>
      </h2>
      <p class="usage" data-testid="thread-usage">
        {usage.input} tokens in · {usage.output} tokens out · ${usage.cost.toFixed(4)}
      </p>
      {streamError !== undefined && <p class="error">{streamError}</p>}
      <ol class="timeline">
        {frames.map((f) => {
          switch (f.event) {
            case "message_appended":
              if (f.message.role === "tool" || streamed.has(f.message.id)) return null
              return (
                <li key={f.seq} class={`message ${f.message.role}`} data-role={f.message.role}>
                  <span class="who">{f.message.role}</span>
                  <pre>{f.message.content}</pre>
                </li>
              )
            case "response_start": {
              const r = responses.get(f.response_id)
              if (r === undefined || (r.text === "" && r.reasoning === "") || discarded.has(f.response_id)) return null
              return (
                <li key={f.seq} class="message assistant" data-role="assistant" data-response={f.response_id}>
                  <span class="who">assistant{f.model === undefined ? "" : ` · ${f.model}`}</span>
                  {r.reasoning !== "" && <pre class="reasoning">{r.reasoning}</pre>}
                  <pre>{r.text}</pre>
                </li>
              )
            }
            case "tool_call_start": {
              const result = results.get(f.call_id)
              return (
                <li key={f.seq} class="tool" data-call={f.call_id}>
                  <span class="who">tool · {f.tool_name}</span>
                  <pre class="args">{visible(json(f.arguments))}</pre>
                  {result === undefined ? (
                    <span class="muted">running…</span>
                  ) : (
                    <pre class="output" data-testid="tool-output">
                      {toolText(result)}
                    </pre>
                  )}
                </li>
              )
            }
            case "approval_requested": {
              const approval = approvals[f.approval_id]
              return (
                <li key={f.seq} class="approval" data-approval={f.approval_id}>
                  <span class="who">approval · {f.tool_name}</span>
                  {f.command !== undefined && <pre class="command">{visible(f.command)}</pre>}
                  <p class="reason">{f.reason}</p>
                  {!decided.has(f.approval_id) && approval !== undefined && approval.status === "pending" && (
                    <Decide client={client} approval={approval} caps={caps} />
                  )}
                </li>
              )
            }
            case "approval_decided":
              return (
                <li key={f.seq} class={`decided ${f.decision}`}>
                  {f.decision}
                  {f.reason === undefined ? "" : `: ${f.reason}`}
                </li>
              )
            case "turn_started":
              return (
                <li key={f.seq} class="marker">
                  turn started · {f.model}
                </li>
              )
            case "turn_ended":
              return (
                <li key={f.seq} class="marker" data-turn-ended={f.outcome}>
                  turn {f.outcome}
                  {f.usage === undefined ? "" : ` · ${f.usage.input_tokens} in / ${f.usage.output_tokens} out`}
                </li>
              )
            case "error":
              return (
                <li key={f.seq} class="error">
                  {f.message}
                </li>
              )
            default:
              return null
          }
        })}
      </ol>
      <div ref={bottom} />
      {caps.prompt && (
        <form class="prompt" onSubmit={send}>
          <textarea name="prompt" value={prompt} onInput={(e) => setPrompt(e.currentTarget.value)} />
          <button type="submit">Send</button>
          {sendError !== undefined && <span class="error">{sendError}</span>}
        </form>
      )}
    </section>
  )
}

const Approvals = ({ client, caps, onOpen }: { client: Client; caps: Caps; onOpen: (id: string) => void }) => {
  const { value, error } = usePoll(() => client.call("approval/list", {}), 1000, [client])
  return (
    <section data-view="approvals">
      <h2>Approvals</h2>
      {error !== undefined && <p class="error">{error}</p>}
      {value !== undefined && value.length === 0 && <p class="empty">Nothing waits for approval.</p>}
      {(value ?? []).map((a) => (
        <article key={a.id} class="card approval" data-approval={a.id}>
          <header>
            <strong>{a.call.name}</strong>
            {a.thread_id !== null && (
              <button type="button" class="link" onClick={() => onOpen(a.thread_id!)}>
                {a.thread_id}
              </button>
            )}
            <span class="muted">{when(a.created_at)}</span>
          </header>
          {a.command !== undefined && <pre class="command">{visible(a.command)}</pre>}
          {a.cwd !== undefined && <p class="muted">in {a.cwd}</p>}
          <p class="reason">{a.reason}</p>
          <details>
            <summary>arguments</summary>
            <pre>{visible(json(a.call.arguments))}</pre>
          </details>
          <Decide client={client} approval={a} caps={caps} />
        </article>
      ))}
    </section>
  )
}

const Jobs = ({ client, caps }: { client: Client; caps: Caps }) => {
  const { value, error, refresh } = usePoll(() => client.call("jobs/list", {}), 1000, [client])
  const [actionError, setActionError] = useState<string | undefined>(undefined)
  const act = async (action: "jobs/pause" | "jobs/resume" | "jobs/cancel" | "jobs/retry", id: string) => {
    try {
      await client.call(action, { id })
      setActionError(undefined)
      refresh()
    } catch (e) {
      setActionError(errorText(e))
    }
  }
  return (
    <section data-view="jobs">
      <h2>Jobs</h2>
      {error !== undefined && <p class="error">{error}</p>}
      {actionError !== undefined && <p class="error">{actionError}</p>}
      {value !== undefined && value.length === 0 && <p class="empty">No job.</p>}
      <table>
        <tbody>
          {(value ?? []).map((j: JobRecord) => (
            <tr key={j.id} data-job={j.id} data-status={j.status}>
              <td>
                <strong>{j.name}</strong>
                <br />
                <code>{j.id}</code>
              </td>
              <td>
                <span class={`status ${j.status}`}>{j.status}</span>
              </td>
              <td>
                <progress max={100} value={j.progress ?? 0} /> {j.progress ?? 0}%
              </td>
              <td>{j.detail ?? ""}</td>
              <td>
                <details>
                  <summary>history ({j.history.length})</summary>
                  <ol>
                    {j.history.map((h, i) => (
                      <li key={i}>
                        {when(h.at)} {h.from ?? "·"} → {h.to}
                        {h.detail === undefined || h.detail === null ? "" : `: ${h.detail}`}
                      </li>
                    ))}
                  </ol>
                </details>
              </td>
              <td class="actions">
                {caps.admin && (j.status === "running" || j.status === "queued") && (
                  <button type="button" data-action="pause" onClick={() => act("jobs/pause", j.id)}>
                    Pause
                  </button>
                )}
                {caps.admin && j.status === "paused" && (
                  <button type="button" data-action="resume" onClick={() => act("jobs/resume", j.id)}>
                    Resume
                  </button>
                )}
                {caps.admin && (j.status === "running" || j.status === "queued" || j.status === "paused") && (
                  <button type="button" data-action="cancel" onClick={() => act("jobs/cancel", j.id)}>
                    Cancel
                  </button>
                )}
                {caps.admin && (j.status === "failed" || j.status === "cancelled") && (
                  <button type="button" data-action="retry" onClick={() => act("jobs/retry", j.id)}>
                    Retry
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

const Mcp = ({ client, caps }: { client: Client; caps: Caps }) => {
  const { value, error, refresh } = usePoll(() => client.call("mcp/status", {}), 2000, [client])
  const [busy, setBusy] = useState<string | undefined>(undefined)
  const [actionError, setActionError] = useState<string | undefined>(undefined)
  const restart = async (name: string) => {
    setBusy(name)
    try {
      await client.call("mcp/restart", { server_name: name })
      setActionError(undefined)
    } catch (e) {
      setActionError(errorText(e))
    }
    setBusy(undefined)
    refresh()
  }
  return (
    <section data-view="mcp">
      <h2>MCP servers</h2>
      {error !== undefined && <p class="error">{error}</p>}
      {actionError !== undefined && <p class="error">{actionError}</p>}
      {value !== undefined && value.length === 0 && <p class="empty">No MCP server is configured.</p>}
      <table>
        <tbody>
          {(value ?? []).map((s: McpServerStatus) => (
            <tr key={s.server_name} data-mcp={s.server_name} data-status={s.status}>
              <td>
                <strong>{s.server_name}</strong>
              </td>
              <td>
                <span class={`status ${s.status}`}>{s.status}</span>
              </td>
              <td>{s.transport}</td>
              <td>{s.tools} tools</td>
              <td data-testid="restarts">{s.restarts} restarts</td>
              <td class="error">{s.error === undefined ? "" : visible(s.error)}</td>
              <td class="actions">
                {caps.admin && (
                  <button
                    type="button"
                    data-action="restart"
                    disabled={busy === s.server_name}
                    onClick={() => restart(s.server_name)}
                  >
                    {busy === s.server_name ? "Restarting…" : "Restart"}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

const approvalModes = ["on-request", "untrusted", "on-failure", "never"] as const

const PolicyPlayground = ({ client }: { client: Client }) => {
  const [command, setCommand] = useState("")
  const [mode, setMode] = useState("")
  const [result, setResult] = useState<Rpc.PolicyCheck | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const check = async (e: Event) => {
    e.preventDefault()
    try {
      setResult(
        await client.call("policy/check", {
          command,
          ...(mode === "" ? {} : { approval_policy: mode as (typeof approvalModes)[number] })
        })
      )
      setError(undefined)
    } catch (err) {
      setResult(undefined)
      setError(errorText(err))
    }
  }
  return (
    <section data-view="policy">
      <h2>Policy playground</h2>
      <p class="muted">Decides a shell command with the server's exec policy, as a turn would. Nothing runs.</p>
      <form class="policy" onSubmit={check}>
        <input
          type="text"
          name="command"
          placeholder="a shell command, e.g. rm -rf build"
          value={command}
          onInput={(e) => setCommand(e.currentTarget.value)}
        />
        <select name="approval" value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
          <option value="">server's approval mode</option>
          {approvalModes.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
        <button type="submit">Check</button>
      </form>
      {error !== undefined && <p class="error">{error}</p>}
      {result !== undefined && (
        <div class="card" data-testid="policy-result" data-decision={result.decision}>
          <p>
            <span class={`verdict ${result.decision}`} data-testid="policy-decision">
              {result.decision}
            </span>{" "}
            <span data-testid="policy-summary">{visible(result.summary)}</span>
          </p>
          <table>
            <tbody>
              {result.commands.map((c, i) => (
                <tr key={i}>
                  <td>
                    <span class={`verdict ${c.decision}`}>{c.decision}</span>
                  </td>
                  <td>
                    <code>{visible(json(c.argv))}</code>
                  </td>
                  <td>{c.rule === null ? "no rule matched: default" : visible(c.rule)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <pre class="explanation" data-testid="policy-explanation">
            {visible(result.explanation)}
          </pre>
        </div>
      )}
    </section>
  )
}

interface ThreadCost extends Usage {
  readonly id: string
  readonly name: string
}

const UsageView = ({ client, onOpen }: { client: Client; onOpen: (id: string) => void }) => {
  const { value, error } = usePoll(
    async () => {
      const threads = (await client.call("thread/list", { include_archived: true, limit: 100 })).threads
      const perThread: Array<ThreadCost> = []
      const perDay = new Map<string, Usage>()
      for (const t of threads) {
        const row: ThreadCost = { id: t.id, name: t.name ?? t.id, input: 0, output: 0, cost: 0 }
        const { events } = await client.call("events/read", { thread_id: t.id, limit: 10_000 })
        for (const f of events) {
          if (f.event !== "turn_ended" || f.usage === undefined) continue
          const day = new Date(f.timestamp).toISOString().slice(0, 10)
          const d = perDay.get(day) ?? { input: 0, output: 0, cost: 0 }
          for (const u of [row, d]) {
            u.input += f.usage.input_tokens
            u.output += f.usage.output_tokens
            u.cost += f.usage.cost_usd ?? 0
          }
          perDay.set(day, d)
        }
        perThread.push(row)
      }
      return { perThread, perDay: [...perDay.entries()].sort(([a], [b]) => a.localeCompare(b)).slice(-14) }
    },
    5000,
    [client]
  )
  const most = Math.max(1, ...(value?.perDay ?? []).map(([, u]) => u.input + u.output))
  return (
    <section data-view="usage">
      <h2>Tokens &amp; cost</h2>
      {error !== undefined && <p class="error">{error}</p>}
      <svg class="chart" viewBox="0 0 420 120" role="img" aria-label="tokens per day">
        {(value?.perDay ?? []).map(([day, u], i) => {
          const h = Math.round(((u.input + u.output) / most) * 90)
          return (
            <g key={day}>
              <rect x={10 + i * 29} y={100 - h} width={22} height={h} class="bar" />
              <text x={21 + i * 29} y={114} text-anchor="middle" class="axis">
                {day.slice(5)}
              </text>
            </g>
          )
        })}
      </svg>
      <table>
        <thead>
          <tr>
            <th>thread</th>
            <th>tokens in</th>
            <th>tokens out</th>
            <th>cost (USD)</th>
          </tr>
        </thead>
        <tbody>
          {(value?.perThread ?? []).map((t) => (
            <tr key={t.id} data-usage={t.id}>
              <td>
                <button type="button" class="link" onClick={() => onOpen(t.id)}>
                  {t.name}
                </button>
              </td>
              <td>{t.input}</td>
              <td>{t.output}</td>
              <td>{t.cost.toFixed(4)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
