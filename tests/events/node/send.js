// Sends calls through a real Node SDK and reports when every one was answered.
// Input (stdin, JSON): {sdk: "segment" | "rudderstack", url, writeKey, flushAt, awaitEvery,
//   calls: [{method, message}]}. With awaitEvery n, after every n calls the SDK is flushed
// and every call so far answered before the next is made (so no two requests overlap);
// without it the SDK batches and sends as it does by itself (several requests at once).
// Output (stdout, JSON): {errors: [text, ...], answered: n}
"use strict";

function makeClient(input, errors) {
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
    return { client, close: () => client.closeAndFlush({ timeout: 60000 }) };
  }
  if (input.sdk === "rudderstack") {
    const Analytics = require("@rudderstack/rudder-sdk-node");
    const client = new Analytics(input.writeKey, {
      dataPlaneUrl: input.url,
      flushAt: input.flushAt,
      flushInterval: 100,
      retryCount: 2,
      logLevel: "error",
    });
    return { client, close: () => client.flush() };
  }
  throw new Error(`unknown sdk ${input.sdk}`);
}

async function main() {
  const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const errors = [];
  const { client, close } = makeClient(input, errors);
  let answered = 0;
  let waiting = null;
  const answeredAll = (count) =>
    new Promise((resolve) => {
      if (answered >= count) return resolve();
      waiting = { count, resolve };
    });
  const onAnswer = (err) => {
    answered += 1;
    if (err) errors.push(String(err.message || err));
    if (waiting && answered >= waiting.count) {
      const { resolve } = waiting;
      waiting = null;
      resolve();
    }
  };
  let made = 0;
  for (const call of input.calls) {
    client[call.method](call.message, onAnswer);
    made += 1;
    if (input.awaitEvery && made % input.awaitEvery === 0) {
      client.flush();
      await answeredAll(made);
    }
  }
  await close();
  await answeredAll(made);
  process.stdout.write(JSON.stringify({ errors, answered }) + "\n");
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
