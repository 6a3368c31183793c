// Connects Node's ws client to kyneta serve with permessage-deflate offered
// (see TestNodeWSCompression): reads "ready", sends a compressed "ping",
// reads "pong", prints the negotiated extension as one JSON line.
//
// usage: node nodews.cjs WS_URL
"use strict";
const WebSocket = require("ws");

const ws = new WebSocket(process.argv[2], { perMessageDeflate: { threshold: 0 } });
const got = [];
let header = "";
ws.on("upgrade", (res) => { header = res.headers["sec-websocket-extensions"] || ""; });
const timer = setTimeout(() => { console.error("timed out; got " + JSON.stringify(got)); process.exit(1); }, 20000);
ws.on("message", (data, isBinary) => {
  if (isBinary) return; // sync traffic is not expected before establish
  const text = data.toString();
  got.push(text);
  if (text === "ready") ws.send("ping");
  if (text === "pong") {
    clearTimeout(timer);
    console.log(JSON.stringify({ extensions: header, got }));
    ws.close(1000);
  }
});
ws.on("error", (e) => { console.error(String(e)); process.exit(1); });
