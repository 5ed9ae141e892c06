import * as StateStore from "../src/StateStore.js"
import * as StateStoreSuite from "./StateStoreSuite.js"

StateStoreSuite.run("memory", StateStore.layerMemory)
