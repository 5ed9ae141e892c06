/**
 * What each backend promises (`StateStore.Capabilities`): the built-in
 * stores, and every unstorage driver by name.
 */
import type { Capabilities, Durability } from "../StateStore.js"

const ack = (d: Durability): Capabilities["durableAck"] =>
  d.level === "durable" ? "yes" : d.level === "volatile" ? "no" : "unknown"

export const memory: Capabilities = {
  durableAck: "no",
  atomicAppend: "native",
  writers: "this-process",
  leases: "in-process",
  list: "a scan of this process's maps",
  ttl: false
}

export const fs: Capabilities = {
  durableAck: "yes",
  atomicAppend: "native",
  writers: "many-processes",
  leases: "cross-process",
  list: "one directory read plus one file read per record",
  ttl: false
}

export const redis = (durability: Durability): Capabilities => ({
  durableAck: ack(durability),
  atomicAppend: "native",
  writers: "many-processes",
  leases: "cross-process",
  list: "one set read plus one key read per record",
  ttl: true
})

export const postgres = (durability: Durability): Capabilities => ({
  durableAck: ack(durability),
  atomicAppend: "native",
  writers: "many-processes",
  leases: "cross-process",
  list: "one indexed query",
  ttl: false
})

/** What an unstorage driver gives, as far as its name tells. */
export interface DriverFacts {
  readonly durability: Durability
  /** Its data lives in this process only (no writer record needed). */
  readonly processLocal: boolean
  readonly list: string
  readonly ttl: boolean
}

const unknown = (driver: string): Durability => ({
  level: "unknown",
  detail: `unstorage driver "${driver}": acknowledged writes are as durable as its service makes them`
})

/** Facts per driver name (unstorage's names, both spellings). */
export const driverFacts = (driver: string): DriverFacts => {
  switch (driver) {
    case "memory":
    case "lru-cache":
    case "lruCache":
      return {
        durability: { level: "volatile", detail: `unstorage driver "${driver}" keeps nothing once the process ends` },
        processLocal: true,
        list: "a scan of this process's map",
        ttl: driver !== "memory"
      }
    case "fs":
    case "fs-lite":
    case "fsLite":
      return {
        durability: {
          level: "volatile",
          detail:
            `unstorage driver "${driver}" writes files without fsync: a killed process loses nothing acknowledged, ` +
            "an OS crash or power cut can"
        },
        processLocal: false,
        list: "a recursive directory walk per listing",
        ttl: false
      }
    case "deno-kv":
    case "denoKV":
    case "deno-kv-node":
    case "denoKVNode":
      return {
        durability: { level: "durable", detail: `Deno KV commits each write before it returns (driver "${driver}")` },
        processLocal: false,
        list: "a prefix range read",
        ttl: true
      }
    case "redis":
      return { durability: unknown(driver), processLocal: false, list: "a SCAN of the key space", ttl: true }
    case "db0":
      return {
        durability: {
          level: "unknown",
          detail: `unstorage driver "db0": each write is one SQL statement, as durable as the database's settings`
        },
        processLocal: false,
        list: "a LIKE query on the key column",
        ttl: false
      }
    default:
      return {
        durability: unknown(driver),
        processLocal: false,
        list: "whatever the driver's getKeys costs",
        ttl: false
      }
  }
}

export const unstorage = (facts: DriverFacts): Capabilities => ({
  durableAck:
    facts.durability.level === "durable"
      ? "yes"
      : facts.processLocal
        ? "no"
        : facts.durability.level === "volatile"
          ? "process"
          : "unknown",
  atomicAppend: "commit-marker",
  writers: facts.processLocal ? "this-process" : "one-process",
  leases: "in-process",
  list: facts.list,
  ttl: facts.ttl
})
