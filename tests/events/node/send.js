// Sends calls through a real Node SDK and reports when every one was answered.
// Input (stdin, JSON): {sdk: "segment" | "rudderstack", url, writeKey, flushAt, calls: [{method, message}]}
// Output (stdout, JSON): {errors: [text, ...], answered: n}
"use strict";

async function main() {
  const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const errors = [];
  let answered = 0;
  if (input.sdk === "segment") {
    const { Analytics } = require("@segment/analytics-node");
    const client = new Analytics({
      writeKey: input.writeKey,
      host: input.url,
      flushAt: input.flushAt,
      flushInterval: 100,
      maxRetries: 2,
    });
    client.on("error", (err) => errors.push(String(err && (err.reason || err.message || err))));
    for (const call of input.calls) {
      client[call.method](call.message, (err) => {
        answered += 1;
        if (err) errors.push(String(err.message || err));
      });
    }
    await client.closeAndFlush({ timeout: 60000 });
  } else if (input.sdk === "rudderstack") {
    const Analytics = require("@rudderstack/rudder-sdk-node");
    const client = new Analytics(input.writeKey, {
      dataPlaneUrl: input.url,
      flushAt: input.flushAt,
      flushInterval: 100,
      retryCount: 2,
      logLevel: "error",
    });
    const done = new Promise((resolve) => {
      let left = input.calls.length;
      for (const call of input.calls) {
        client[call.method](call.message, (err) => {
          answered += 1;
          if (err) errors.push(String(err.message || err));
          if (--left === 0) resolve();
        });
      }
    });
    await client.flush();
    await done;
  } else {
    throw new Error(`unknown sdk ${input.sdk}`);
  }
  process.stdout.write(JSON.stringify({ errors, answered }) + "\n");
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
