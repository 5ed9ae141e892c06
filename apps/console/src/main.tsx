/**
 * The Strata console: an operator's view of a `strata serve`, a client of
 * its wire (`@strata/client`) and nothing more privileged. The token is the
 * operator's: typed in the page or passed once as `#token=…` (taken out of
 * the address at once and kept in this tab's sessionStorage); the server
 * never embeds one. Every text that comes from a model or a tool is
 * rendered as text (Preact escapes it; no raw HTML anywhere).
 */
import { render } from "preact"
import { App } from "./App.js"
import "./style.css"

const fromHash = (): string | undefined => {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""))
  const token = params.get("token")
  if (token === null) return undefined
  history.replaceState(null, "", location.pathname + location.search)
  return token
}

const token = fromHash() ?? sessionStorage.getItem("strata.token") ?? undefined
if (token !== undefined) sessionStorage.setItem("strata.token", token)

render(<App initialToken={token} />, document.getElementById("app")!)
