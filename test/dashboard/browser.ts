// One headless Chromium for the dashboard tests (Debian's, as CI installs it), and where their screenshots go.
import { mkdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"
import type { Browser } from "playwright-core"

export const OUTPUT = fileURLToPath(new URL("../../test-results/dashboard/", import.meta.url))

export const launch = (): Promise<Browser> => {
  mkdirSync(OUTPUT, { recursive: true })
  return chromium.launch({ executablePath: process.env["CHROMIUM"] ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox"] })
}
