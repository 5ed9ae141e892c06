/**
 * Tracing: the runtime traces every turn (`Runtime.turn`, with token and cost
 * attributes), model call (`Runtime.modelCall`), tool call
 * (`Runtime.invokeTool`), hook dispatch and job operation with
 * `Effect.withSpan`. With an OTLP endpoint configured (`[telemetry]
 * otlp_endpoint = "http://127.0.0.1:4318"`), spans are exported as OTLP/HTTP
 * JSON through `@effect/opentelemetry`'s Effect-native exporter (no
 * OpenTelemetry SDK needed).
 *
 * @since 0.1.0
 */

import * as Otlp from "@effect/opentelemetry/Otlp"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"

/**
 * @since 0.1.0
 * @category models
 */
export interface OtlpOptions {
  /** The collector's base URL; spans go to `<endpoint>/v1/traces`. */
  readonly endpoint: string
  readonly serviceName?: string | undefined
  readonly serviceVersion?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** How often batches are sent (default 5 seconds); the rest is flushed on shutdown. */
  readonly exportInterval?: Duration.DurationInput | undefined
}

/**
 * Exports the runtime's spans to an OTLP/HTTP collector for the lifetime of
 * the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOtlp = (options: OtlpOptions): Layer.Layer<never> =>
  Otlp.layerJson({
    baseUrl: options.endpoint,
    resource: {
      serviceName: options.serviceName ?? "strata",
      ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion })
    },
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    ...(options.exportInterval === undefined ? {} : { tracerExportInterval: options.exportInterval })
  }).pipe(Layer.provide(FetchHttpClient.layer))
