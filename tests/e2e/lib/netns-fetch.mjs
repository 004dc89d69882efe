// Runs inside a network namespace (`ip netns exec NS node netns-fetch.mjs SPEC`) on behalf of
// a test in the root namespace, which cannot reach the namespace's loopback.
// SPEC (JSON): {waitFor: {url, status, ms}, pauseMs, requests: [{url, method, repeat}]}, all
// optional, done in that order.
// Prints {waited: {ok, last}, responses: [{status, body}]} as one JSON line.
import { setTimeout as sleep } from "node:timers/promises";

async function waitFor({ url, status, ms }) {
  const deadline = Date.now() + ms;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === status) return { ok: true, last: `status ${status}` };
      last = `status ${response.status}`;
    } catch (e) {
      last = String(e.cause?.code ?? e.message);
    }
    await sleep(50);
  }
  return { ok: false, last };
}

async function send({ url, method = "GET" }) {
  try {
    const response = await fetch(url, { method, signal: AbortSignal.timeout(10_000) });
    return { status: response.status, body: await response.text() };
  } catch (e) {
    return { status: 0, body: String(e.cause?.code ?? e.message) };
  }
}

const spec = JSON.parse(process.argv[2]);
const result = { waited: null, responses: [] };
if (spec.waitFor) result.waited = await waitFor(spec.waitFor);
if (spec.pauseMs) await sleep(spec.pauseMs);
for (const request of spec.requests ?? []) {
  for (let i = 0; i < (request.repeat ?? 1); i++) result.responses.push(await send(request));
}
process.stdout.write(JSON.stringify(result) + "\n");
