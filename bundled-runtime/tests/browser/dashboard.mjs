// Drives headless Chromium (Debian's) through playwright-core for tests/dashboard.rs.
//   node dashboard.mjs URL FIELD SCREENSHOT.png
// Protocol on stdout, one line each: `READY <text of FIELD>` once the page is live and shows the
// field; then, after the test changed the input, `UPDATED <new text>`; `ERROR <text>` once the
// error section shows a traceback; `SHOT <png width> <scrollWidth>` after a 375 px screenshot.
import { createRequire } from "node:module";
import readline from "node:readline";

const require = createRequire(process.env.FNOPS_NODE_MODULES + "/");
const { chromium } = require("playwright-core");
const [url, field, shot] = process.argv.slice(2);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const outside = [];
page.on("request", (r) => { if (!r.url().startsWith(new URL(url).origin)) outside.push(r.url()); });
await page.goto(url);
const cell = `tr[data-field="${field}"] td.value`;
await page.waitForFunction(() => document.getElementById("status").textContent === "live", null, { timeout: 20000 });
await page.waitForSelector(cell, { timeout: 20000 });
const first = await page.textContent(cell);
console.log("READY " + first);

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line === "WAIT-UPDATE") {
    await page.waitForFunction(([sel, old]) => { const e = document.querySelector(sel); return e && e.textContent !== old; }, [cell, first], { timeout: 20000 });
    console.log("UPDATED " + await page.textContent(cell));
  } else if (line === "WAIT-ERROR") {
    await page.waitForFunction(() => document.getElementById("error").textContent.includes("Traceback"), null, { timeout: 20000 });
    console.log("ERROR " + (await page.textContent("#error")).split("\n")[0]);
  } else if (line === "SHOT") {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.waitForTimeout(300);
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    const charts = await page.locator("#charts figure").count();
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`SHOT ${scrollWidth} ${charts} ${outside.length}`);
    break;
  }
}
await browser.close();
process.exit(0);
