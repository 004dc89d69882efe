// Plain-HTTP helpers: one request with a bounded wait, and assertions whose failure message
// carries the request and the response, so a failing run tells the reader what daprd did.
import assert from "node:assert/strict";

/**
 * req(daprd, "POST", "/v1.0/state/s", {json, body, headers, timeoutMs}) ->
 *   {status, headers, text, json (parsed or undefined), describe()}
 */
export async function req(daprd, method, urlPath, { json, body, headers = {}, timeoutMs = 10_000 } = {}) {
  const h = { ...headers };
  let payload = body;
  if (json !== undefined) {
    payload = JSON.stringify(json);
    if (!Object.keys(h).some((k) => k.toLowerCase() === "content-type")) h["content-type"] = "application/json";
  }
  const url = `${daprd.httpUrl}${urlPath}`;
  const res = await fetch(url, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let parsed;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const shown = typeof payload === "string" ? truncate(payload) : payload === undefined ? "" : `<${payload.length ?? "?"} bytes>`;
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: parsed,
    describe() {
      const hdrs = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("; ");
      return `request: ${method} ${urlPath} ${JSON.stringify(h)} ${shown}\nresponse: ${res.status} [${hdrs}] ${truncate(text)}`;
    },
  };
}

function truncate(s, n = 600) {
  return s.length > n ? `${s.slice(0, n)}...(${s.length} chars)` : s;
}

export function expectStatus(res, status, note = "") {
  assert.equal(res.status, status, `expected HTTP ${status}${note ? ` (${note})` : ""}\n${res.describe()}`);
}

/** Asserts a Dapr JSON error: status, Content-Type JSON, body {errorCode, message}. */
export function expectDaprError(res, status, errorCode, { messageIncludes } = {}) {
  expectStatus(res, status);
  const ct = res.headers.get("content-type") ?? "";
  assert.match(ct, /application\/json/, `error body must be JSON\n${res.describe()}`);
  assert.ok(res.json && typeof res.json === "object", `error body must be a JSON object\n${res.describe()}`);
  assert.equal(res.json.errorCode, errorCode, `errorCode\n${res.describe()}`);
  assert.equal(typeof res.json.message, "string", `message must be a string\n${res.describe()}`);
  assert.ok(res.json.message.length > 0, `message must not be empty\n${res.describe()}`);
  if (messageIncludes) {
    assert.ok(res.json.message.includes(messageIncludes), `message should include ${JSON.stringify(messageIncludes)}\n${res.describe()}`);
  }
  return res.json;
}

/** The ErrorInfo detail of a rich HTTP error body, or undefined. */
export function errorInfo(body) {
  return (body?.details ?? []).find((d) => d?.["@type"] === "type.googleapis.com/google.rpc.ErrorInfo");
}

// gRPC status codes (google.rpc.Code) used in the suites.
export const GrpcCode = {
  InvalidArgument: 3,
  NotFound: 5,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  Unauthenticated: 16,
};
const codeName = Object.fromEntries(Object.entries(GrpcCode).map(([k, v]) => [v, k]));

/** Awaits a promise that must reject with a gRPC (ConnectError) status of the given code. */
export async function expectGrpcError(promise, code, { messageIncludes, what = "call" } = {}) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    assert.equal(
      err?.code,
      code,
      `${what}: expected gRPC ${codeName[code] ?? code} (${code}), got code ${err?.code} (${codeName[err?.code] ?? "?"}): ${err?.message}`,
    );
    if (messageIncludes) {
      const msg = err.rawMessage ?? err.message;
      assert.ok(msg.includes(messageIncludes), `${what}: message should include ${JSON.stringify(messageIncludes)}, got ${JSON.stringify(msg)}`);
    }
    return err;
  }
  assert.fail(`${what}: expected gRPC ${codeName[code] ?? code} error, but it succeeded with ${JSON.stringify(result)}`);
}

/**
 * Decodes the `reason` (field 1) of a google.rpc.ErrorInfo carried in a ConnectError's details.
 * Returns undefined when there is none.
 */
export function grpcErrorInfoReason(err) {
  const d = (err?.details ?? []).find((x) => x?.type === "google.rpc.ErrorInfo");
  if (!d) return undefined;
  const buf = Buffer.from(d.value);
  let i = 0;
  const varint = () => {
    let v = 0, shift = 0, b;
    do {
      b = buf[i++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return v;
  };
  while (i < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8), wire = tag & 7;
    if (wire === 2) {
      const len = varint();
      const s = buf.subarray(i, i + len).toString();
      i += len;
      if (field === 1) return s;
    } else if (wire === 0) {
      varint();
    } else {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The SDK's HTTP client reports failures in two ways: most calls throw
 * Error(JSON.stringify({error, error_msg, status})), while state.save/delete resolve to {error}.
 * Returns {status, body} from either shape.
 */
export function sdkHttpError(errOrResult) {
  const e = errOrResult?.error ?? errOrResult;
  let info;
  try {
    info = JSON.parse(e.message);
  } catch {
    assert.fail(`not an SDK HTTP error: ${e?.message ?? JSON.stringify(errOrResult)}`);
  }
  let body;
  try {
    body = JSON.parse(info.error_msg);
  } catch {
    body = info.error_msg;
  }
  return { status: info.status, body };
}

/** Awaits an SDK HTTP call that must fail with the given status and errorCode (thrown or {error}). */
export async function expectSdkHttpError(promise, status, errorCode, what = "call") {
  let outcome;
  try {
    outcome = await promise;
  } catch (err) {
    outcome = { error: err };
  }
  assert.ok(outcome && outcome.error, `${what}: expected an HTTP ${status} ${errorCode} error, got ${JSON.stringify(outcome)}`);
  const { status: got, body } = sdkHttpError(outcome);
  assert.equal(got, status, `${what}: status (body ${JSON.stringify(body)})`);
  assert.equal(body?.errorCode, errorCode, `${what}: errorCode (body ${JSON.stringify(body)})`);
  return body;
}
