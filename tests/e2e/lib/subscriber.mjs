// A plain node:http app that subscribes to one topic (GET /dapr/subscribe) and counts what it
// gets: while `accepting` is false it answers every delivery 500 (nothing is acked), then it
// records each event's data.n and acks. For the loss tests, where counts are the point.
import http from "node:http";

export function startCountingSubscriber(port, { pubsub = "pubsub", topic }) {
  const state = { accepting: true, seen: new Set(), attempts: 0 };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      if (req.url === "/dapr/subscribe") {
        res.setHeader("content-type", "application/json");
        return res.end(JSON.stringify([{ pubsubname: pubsub, topic, route: `/${topic}` }]));
      }
      if (req.url === `/${topic}`) {
        state.attempts++;
        if (!state.accepting) { res.statusCode = 500; return res.end(); }
        state.seen.add(JSON.parse(body).data.n);
        return res.end();
      }
      res.statusCode = 404;
      res.end();
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve({ server, state })));
}

/** How many of the numbers in `published` the subscriber never saw. */
export function lostOf(published, state) {
  return [...published].filter((n) => !state.seen.has(n)).length;
}
