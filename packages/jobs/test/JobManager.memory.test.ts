import { JobBackend } from "@strata/jobs"
import * as JobManagerSuite from "./JobManagerSuite.js"

JobManagerSuite.run("memory", () => JobBackend.layerMemory)
