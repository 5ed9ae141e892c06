// The scripted model server of the bench, in its own process so that the
// bench's CPU figures count the client only. Prints its URL on stdout.
import * as Server from "@strata/testkit/node/ScriptedModelServer"

const chunks = Number(process.env.BENCH_CHUNKS ?? 2000)
const server = await Server.start({
  turns: [
    { text: "x".repeat(chunks * 4), chunkSize: 4, repeat: true, match: (r) => r.model === "bulk" },
    { text: "x".repeat(chunks * 4), chunkSize: 4, repeat: true, paced: true, match: (r) => r.model === "paced" },
    { text: "hello world", chunkSize: 4, repeat: true, match: (r) => r.model === "short" }
  ]
})
process.stdout.write(`${server.url}\n`)
process.on("SIGTERM", () => server.close().then(() => process.exit(0)))
