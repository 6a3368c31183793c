// Drives the dashboard test in headless Chromium (see dashboard_test.go):
// opens /ui, waits until it shows the expected peers and connection count,
// writes a screenshot, then opens a WebSocket from the page to check that
// permessage-deflate is negotiated with a browser. Prints one JSON line.
//
// usage: node dashboard.cjs UI_URL WS_URL SCREENSHOT PEER...
"use strict";
const { chromium } = require("playwright-core");

const [uiURL, wsURL, shot, ...peers] = process.argv.slice(2);
const timeout = 30000;

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.KYNETA_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    await page.goto(uiURL);
    for (const p of peers) {
      await page.locator(`#peers tr[data-peer="${p}"][data-connected="true"]`).waitFor({ timeout });
    }
    await page.waitForFunction((n) => document.getElementById("connections").textContent === String(n), peers.length, { timeout });
    // The test keeps writing while the page is open: wait until the rates
    // show it and the charts have a stretch of points.
    await page.waitForFunction(() => Number(document.body.dataset.events) >= 15 &&
      Number(document.getElementById("msgs-in").textContent) > 0, null, { timeout });
    const shown = await page.evaluate(() => ({
      connections: document.getElementById("connections").textContent,
      peers: [...document.querySelectorAll("#peers tr[data-peer]")].map((r) => r.dataset.peer),
      feed: document.getElementById("feed").textContent,
      store: document.getElementById("store").textContent,
      msgsIn: document.getElementById("msgs-in").textContent,
    }));
    await page.screenshot({ path: shot, fullPage: true });
    // The browser offers permessage-deflate; the message must arrive
    // intact through the compressed stream.
    const ws = await page.evaluate((url) => new Promise((resolve, reject) => {
      const s = new WebSocket(url);
      const timer = setTimeout(() => reject(new Error("no ready from " + url)), 20000);
      s.onmessage = (m) => { clearTimeout(timer); resolve({ extensions: s.extensions, first: String(m.data) }); s.close(1000); };
      s.onerror = () => { clearTimeout(timer); reject(new Error("WebSocket error")); };
    }), wsURL);
    console.log(JSON.stringify({ shown, ws, errors }));
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
