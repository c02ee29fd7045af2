/**
 * Regenerates `docs/dashboard.png`, the README's picture of `pool.dashboard()`:
 * `node scripts/dashboard-screenshot.ts` (needs Chromium at /usr/bin/chromium, or $CHROMIUM).
 * A pool of 4 test workers under a light load, one of them SIGKILLed after writing to stderr, so
 * the page shows a restart, the last crash with its stderr tail, and live latencies.
 * @module
 */
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"
import { createPool } from "../src/index.ts"

const FIXTURES = fileURLToPath(new URL("../test/fixtures/", import.meta.url))
const OUT = fileURLToPath(new URL("../docs/dashboard.png", import.meta.url))

const pool = await createPool({ worker: { module: "basic", cwd: FIXTURES }, size: 4 })
const browser = await chromium.launch({ executablePath: process.env["CHROMIUM"] ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox"] })
try {
  const dashboard = await pool.dashboard({ controls: true })
  // Every worker writes a few stderr lines (4 calls on 4 idle workers: one each), so the crash below has a tail to show.
  await Promise.all(Array.from({ length: 4 }, () => pool.call("chatty", { n: 3 })))
  let running = true
  const load = (async () => {
    while (running) await Promise.all(Array.from({ length: 6 }, (_, i) => pool.call("sleep_ms", { ms: 5 + ((i * 7) % 30) }).catch(() => {})))
  })()
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, bypassCSP: true })
  await page.goto(dashboard.url)
  await page.waitForSelector(".worker[data-worker=w4][data-state=ready]", { timeout: 60_000 })
  const victim = pool.snapshot().workers.find((w) => w.id === "w2")!
  process.kill(victim.pid!, "SIGKILL")
  await page.waitForFunction(`document.querySelector('.worker[data-worker="w2"]').dataset.pid !== "${victim.pid}" && document.querySelector('.worker[data-worker="w2"]').dataset.state === "ready"`, undefined, { timeout: 60_000 })
  await page.waitForFunction(`document.querySelector("#calls").textContent !== "0"`, undefined, { timeout: 60_000 })
  await page.screenshot({ path: OUT, fullPage: true })
  running = false
  await load
  console.log(`wrote ${OUT}`)
} finally {
  await browser.close()
  await pool.close()
}
