import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Browser, Page } from "playwright-core"
import { createPool, InvalidOptionError, PoolClosedError } from "../../src/index.ts"
import { poolMachine, toSVG, workerMachine } from "../../src/machines/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES } from "../helpers.ts"
import { launch, OUTPUT } from "./browser.ts"

/** DOM conditions get this long: a real pool restarts workers on a shared, loaded machine. */
const WAIT = { timeout: 60_000 }

let browser: Browser
let pool: Pool

beforeAll(async () => {
  browser = await launch()
  pool = await createPool({ worker: { module: "basic", cwd: FIXTURES }, size: 4 })
})

afterAll(async () => {
  await pool?.close()
  await browser?.close()
})

const open = async (url: string): Promise<Page> => {
  // The page forbids eval (CSP); the test's string conditions are the only code it did not ship.
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, bypassCSP: true })
  const errors: Array<string> = []
  page.on("pageerror", (error) => errors.push(error.message))
  const response = await page.goto(url)
  expect(response?.headers()["content-security-policy"]).toContain("default-src 'none'")
  await page.waitForFunction(`document.querySelectorAll(".worker[data-state=ready]").length === 4`, undefined, WAIT)
  expect(errors).toEqual([])
  return page
}

// Browser-side code is written as strings: this project's TypeScript has no DOM types.

/** Records, in the page, every transition arrow that lights up from now on. */
const watchArrows = (page: Page) => page.evaluate(`
  window.fired = []
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.target.classList.contains("fired")) window.fired.push(r.target.closest(".worker").dataset.worker + ":" + r.target.dataset.source + ">" + r.target.dataset.target)
    }
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["class"] })
`)

const firedArrows = (page: Page): Promise<Array<string>> => page.evaluate("window.fired")

/** Waits for a browser-side condition. */
const until = (page: Page, condition: string) => page.waitForFunction(condition, undefined, WAIT)

const pidOf = (id: string): number => pool.snapshot().workers.find((w) => w.id === id)!.pid!

/** Waits until the worker's card shows a transition into `state`, then it ready again on a new pid. */
const crashedAndBack = async (page: Page, id: string, oldPid: number, via: string): Promise<void> => {
  const card = `document.querySelector('.worker[data-worker="${id}"]')`
  await until(page, `[...${card}.querySelectorAll("ol.recent li")].some((li) => li.textContent === ${JSON.stringify(via)})`)
  await until(page, `${card}.dataset.state === "ready" && ${card}.dataset.pid !== "${oldPid}" && ${card}.dataset.pid !== ""`)
}

describe("toSVG in a browser", () => {
  it.each([["worker", workerMachine], ["pool", poolMachine]] as const)("the %s drawing parses as XML and every state has a visible box inside it", async (_, machine) => {
    const page = await browser.newPage()
    const result = await page.evaluate(`(() => {
      const doc = new DOMParser().parseFromString(${JSON.stringify(toSVG(machine))}, "image/svg+xml")
      if (doc.querySelector("parsererror")) return { error: doc.querySelector("parsererror").textContent }
      const svg = document.body.appendChild(document.importNode(doc.documentElement, true))
      const frame = svg.getBoundingClientRect()
      return { states: [...svg.querySelectorAll("g.state")].map((g) => {
        const box = g.getBoundingClientRect()
        return { name: g.dataset.state, visible: box.width > 40 && box.height > 20 && box.left >= frame.left && box.right <= frame.right && box.bottom <= frame.bottom }
      }) }
    })()`) as { error?: string; states: Array<{ name: string; visible: boolean }> }
    expect(result.error).toBeUndefined()
    expect(result.states.map((s) => s.name)).toEqual(Object.keys(machine.states))
    expect(result.states.filter((s) => !s.visible)).toEqual([])
    await page.close()
  })
})

describe("pool.dashboard()", () => {
  it("shows every worker ready, a SIGKILLed one going crashed → ready, and no controls by default", async () => {
    const dashboard = await pool.dashboard()
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const page = await open(dashboard.url)
    // Every card draws the worker machine with exactly its current state lit.
    for (const w of pool.snapshot().workers) {
      const lit = await page.locator(`.worker[data-worker="${w.id}"] g.state.active`).evaluateAll((els) => els.map((e) => e.getAttribute("data-state")))
      expect(lit).toEqual(["ready"])
      expect(await page.locator(`.worker[data-worker="${w.id}"]`).getAttribute("data-pid")).toBe(String(w.pid))
    }
    expect(await page.locator("#pool-state").textContent()).toBe("ready")
    // No buttons, and the endpoints refuse.
    expect(await page.locator("button[data-action]").count()).toBe(0)
    const refused = await fetch(new URL("workers/w1/kill", dashboard.url), { method: "POST" })
    expect(refused.status).toBe(403)
    expect(await refused.json()).toEqual({ error: "controls are off: start the dashboard with { controls: true } (CLI: --controls)" })
    expect(pool.snapshot().workers.find((w) => w.id === "w1")!.restarts).toBe(0)

    await watchArrows(page)
    const pid = pidOf("w2")
    process.kill(pid, "SIGKILL")
    await crashedAndBack(page, "w2", pid, "ready → crashed")
    expect(await firedArrows(page)).toContain("w2:ready>crashed")
    await expect.poll(() => page.locator("#crash .who").textContent(), WAIT).toContain(`w2 (pid ${pid})`)
    expect(await page.locator("#crash .message").textContent()).toContain("killed by SIGKILL")
    expect(await page.locator("#crash").isVisible()).toBe(true)
    await until(page, `document.querySelector("#restarts").textContent === "1"`)
    await page.screenshot({ path: join(OUTPUT, "no-controls.png") })
    await page.close()
    await dashboard.close()
    await expect(fetch(dashboard.url)).rejects.toThrow()
  })

  it("with controls: kill and recycle buttons that work", async () => {
    const dashboard = await pool.dashboard({ controls: true })
    const page = await open(dashboard.url)
    expect(await page.locator("button[data-action=kill]").count()).toBe(4)
    expect(await page.locator("button[data-action=recycle]").count()).toBe(4)

    const killed = pidOf("w3")
    await page.click('.worker[data-worker="w3"] button[data-action=kill]')
    await crashedAndBack(page, "w3", killed, "terminating → crashed")
    await expect.poll(() => page.locator("#crash .message").textContent(), WAIT).toContain("killed from the dashboard")
    expect(await page.locator("#status").textContent()).toBe("kill w3: done")

    const recycled = pidOf("w4")
    await page.click('.worker[data-worker="w4"] button[data-action=recycle]')
    await crashedAndBack(page, "w4", recycled, "draining → stopped")
    await until(page, `document.querySelector('.worker[data-worker="w4"] .recycled').textContent === "1"`)
    await page.screenshot({ path: join(OUTPUT, "controls.png") })

    // Only the page's own origin may press them, and only for a worker that exists.
    const foreign = await fetch(new URL("workers/w1/kill", dashboard.url), { method: "POST", headers: { origin: "http://evil.example" } })
    expect(foreign.status).toBe(403)
    const unknown = await fetch(new URL("workers/w9/recycle", dashboard.url), { method: "POST" })
    expect([unknown.status, await unknown.json()]).toEqual([404, { error: "no worker w9" }])
    await page.close()
    await dashboard.close()
  })

  it("serves its state as JSON, and refuses bad options naming them", async () => {
    const dashboard = await pool.dashboard({ port: 0, host: "127.0.0.1" })
    const state = await (await fetch(new URL("state", dashboard.url))).json() as { pool: string; workers: Array<{ id: string }>; controls: boolean }
    expect(state.pool).toBe("ready")
    expect(state.workers.map((w) => w.id)).toEqual(["w1", "w2", "w3", "w4"])
    expect(state.controls).toBe(false)
    expect((await fetch(new URL("nothing", dashboard.url))).status).toBe(404)
    const taken = Number(new URL(dashboard.url).port)
    await expect(pool.dashboard({ port: taken })).rejects.toThrow(/EADDRINUSE/)
    await dashboard.close()
    for (const [options, message] of [
      [{ port: -1 }, "dashboard.port must be an integer from 0 to 65535, got -1"],
      [{ controls: "yes" }, "dashboard.controls must be a boolean, got 'yes'"],
      [{ host: "" }, "dashboard.host must be a non-empty host name or address, got ''"],
      [{ prot: 8080 }, "port"]
    ] as const) {
      const error = await pool.dashboard(options as never).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect((error as Error).message).toContain(message)
    }
  })

  it("is closed with its pool", async () => {
    const own = await createPool({ worker: { module: "basic", cwd: FIXTURES }, size: 1 })
    const dashboard = await own.dashboard()
    const events = await fetch(new URL("events", dashboard.url))
    expect(events.headers.get("content-type")).toContain("text/event-stream")
    await own.close()
    await expect(fetch(dashboard.url)).rejects.toThrow()
    // The open feed was ended too.
    await expect(events.text()).resolves.toContain("event: state")
    await expect(own.dashboard()).rejects.toBeInstanceOf(PoolClosedError)
  })
})
