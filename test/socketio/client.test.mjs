// The stock socket.io-client 4.8.1 against the Go server
// (cmd/socketio-conformance -e2e), over websocket only, polling with upgrade
// and polling only.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { io } from "socket.io-client";
import { startServer, withTimeout } from "./support.mjs";

const HANG = 10_000; // guards against hangs only; no assertion depends on time

let server;
before(async () => {
  server = await startServer(["-e2e"]);
});
after(async () => {
  await server.stop();
});

const modes = {
  "websocket only": { transports: ["websocket"] },
  "polling with upgrade": { transports: ["polling", "websocket"] },
  "polling only": { transports: ["polling"] },
};

for (const [mode, transportOpts] of Object.entries(modes)) {
  describe(`socket.io-client, ${mode}`, () => {
    const sockets = [];
    const connect = (nsp, opts = {}) => {
      const s = io(server.url + nsp, { ...transportOpts, forceNew: true, reconnection: false, ...opts });
      sockets.push(s);
      return s;
    };
    const connected = async (nsp, opts) => {
      const s = connect(nsp, opts);
      await withTimeout(once(s, "connect"), HANG, `connect to ${nsp}`);
      return s;
    };
    const ask = (s, ...args) => withTimeout(s.emitWithAck(...args), HANG, `ack of ${args[0]}`);

    after(() => {
      for (const s of sockets) s.disconnect();
    });

    it(`uses the ${transportOpts.transports.at(-1)} transport once settled`, async () => {
      const s = await connected("/");
      const want = transportOpts.transports.at(-1);
      if (s.io.engine.transport.name !== want) {
        await withTimeout(once(s.io.engine, "upgrade"), HANG, "upgrade");
      }
      assert.equal(s.io.engine.transport.name, want);
      assert.deepEqual(await ask(s, "message-with-ack", "after upgrade"), "after upgrade");
    });

    it("connects to a dynamic namespace, refuses an unknown one", async () => {
      const s = connect("/dyn-abc1");
      const [name] = await withTimeout(once(s, "welcome"), HANG, "welcome");
      assert.equal(name, "/dyn-abc1");
      assert.equal(s.connected, true);

      const bad = connect("/nope");
      const [err] = await withTimeout(once(bad, "connect_error"), HANG, "connect_error");
      assert.equal(err.message, "Invalid namespace");
    });

    it("sends the auth payload", async () => {
      const s = connect("/", { auth: { token: "t-123" } });
      const [auth] = await withTimeout(once(s, "auth"), HANG, "auth event");
      assert.deepEqual(auth, { token: "t-123" });
    });

    it("lets a middleware refuse with data", async () => {
      const bad = connect("/guarded", { auth: { token: "wrong" } });
      const [err] = await withTimeout(once(bad, "connect_error"), HANG, "connect_error");
      assert.equal(err.message, "not authorized");
      assert.deepEqual(err.data, { code: "BAD_TOKEN", got: "wrong" });
      assert.equal(bad.connected, false);

      const good = await connected("/guarded", { auth: { token: "open-sesame" } });
      assert.deepEqual(await ask(good, "message-with-ack", "in"), "in");
    });

    it("broadcasts to rooms", async () => {
      const [a, b, c] = await Promise.all([connected("/"), connected("/"), connected("/")]);
      await ask(a, "join", ["r1"]);
      await ask(b, "join", ["r1", "r2"]);
      await ask(c, "join", ["r2"]);
      const inbox = new Map([[a, []], [b, []], [c, []]]);
      for (const [s, list] of inbox) s.on("news", (data) => list.push(data.n));

      // Each step ends with a marker to everyone: whatever a socket got
      // before the marker is all it will get from the step.
      const step = async (req) => {
        await ask(a, "broadcast", req);
        const markers = [...inbox.keys()].map((s) => withTimeout(once(s, "marker"), HANG, "marker"));
        await ask(a, "broadcast", { event: "marker" });
        await Promise.all(markers);
      };
      await step({ rooms: ["r1"], event: "news", data: { n: 1 } });
      await step({ rooms: ["r1", "r2"], event: "news", data: { n: 2 } });
      await step({ rooms: ["r1"], others: true, event: "news", data: { n: 3 } });
      await step({ rooms: ["r1", "r2"], except: ["r1"], event: "news", data: { n: 4 } });
      await step({ others: true, event: "news", data: { n: 5 } });

      assert.deepEqual(inbox.get(a), [1, 2]);
      assert.deepEqual(inbox.get(b), [1, 2, 3, 5]);
      assert.deepEqual(inbox.get(c), [2, 4, 5]);
    });

    it("acks both ways, with timeouts", async () => {
      const s = await connected("/");
      assert.deepEqual(await ask(s, "message-with-ack", 1, "2", { 3: [true] }), 1);
      const all = await new Promise((resolve) => s.emit("message-with-ack", 1, "2", { 3: [true] }, (...args) => resolve(args)));
      assert.deepEqual(all, [1, "2", { 3: [true] }]);

      s.on("question", (n, cb) => cb(n * 2, "twice"));
      s.on("silent", () => {});
      assert.deepEqual(await ask(s, "ask", { event: "question", timeoutMs: HANG, args: [21] }), {
        ok: true,
        answer: [42, "twice"],
      });
      const timedOut = await ask(s, "ask", { event: "silent", timeoutMs: 50, args: [] });
      assert.equal(timedOut.ok, false);
      assert.match(timedOut.error, /deadline exceeded/);

      // The client's own timeout on an event the server never acks.
      await assert.rejects(s.timeout(50).emitWithAck("nobody-acks-this"), /timed out/);
    });

    it("round-trips binary attachments", async () => {
      const s = await connected("/");
      const back = withTimeout(once(s, "message-back"), HANG, "message-back");
      s.emit("message", Buffer.from([1, 2, 3]), { text: "t" }, Uint8Array.from([4, 5]));
      const [first, obj, second] = await back;
      assert.deepEqual([...Buffer.from(first)], [1, 2, 3]);
      assert.deepEqual(obj, { text: "t" });
      assert.deepEqual([...Buffer.from(second)], [4, 5]);

      const acked = await ask(s, "message-with-ack", Buffer.from("bin"));
      assert.equal(Buffer.from(acked).toString(), "bin");
    });

    it("multiplexes namespaces on one connection", async () => {
      const main = io(server.url + "/", { ...transportOpts, forceNew: true, reconnection: false });
      const custom = main.io.socket("/custom");
      custom.connect();
      sockets.push(main, custom);
      await Promise.all([once(main, "connect"), once(custom, "connect")].map((p) => withTimeout(p, HANG, "connect")));
      assert.equal(main.io, custom.io);
      const [m, c] = await Promise.all([ask(main, "whoami"), ask(custom, "whoami")]);
      assert.equal(m.nsp, "/");
      assert.equal(c.nsp, "/custom");
      assert.notEqual(m.id, c.id);

      custom.disconnect();
      assert.equal((await ask(main, "whoami")).nsp, "/", "main namespace survives the other's disconnect");
    });

    it("recovers after a forced disconnect: missed events once, in order", async () => {
      const sender = await connected("/");
      const s = await connected("/");
      assert.equal(s.recovered, false);
      await ask(s, "join", ["rr"]);
      await ask(s, "set", "nick", "frog");
      const before = await ask(s, "whoami");
      const got = [];
      s.on("news", (data) => got.push(data.n));

      await ask(sender, "broadcast", { rooms: ["rr"], event: "news", data: { n: 1 } });
      while (got.length < 1) await withTimeout(once(s, "news"), HANG, "news 1");

      const disconnected = withTimeout(once(s, "disconnect"), HANG, "disconnect");
      // No ack awaited: over polling the engine drops packets still queued
      // when it closes a session (reported), so the ack may never arrive.
      s.emit("kick");
      const [reason] = await disconnected;
      // websocket: "transport close"; polling: the engine answers the next
      // poll with 400, which the client reports as "transport error".
      assert.ok(["transport close", "transport error"].includes(reason), `disconnect reason ${reason}`);

      // Missed while away.
      await ask(sender, "broadcast", { rooms: ["rr"], event: "news", data: { n: 2 } });
      await ask(sender, "broadcast", { rooms: ["elsewhere"], event: "news", data: { n: -1 } });
      await ask(sender, "broadcast", { rooms: ["rr"], event: "news", data: { n: 3 } });

      s.connect();
      await withTimeout(once(s, "connect"), HANG, "reconnect");
      assert.equal(s.recovered, true);
      const after = await ask(s, "whoami", "nick");
      assert.equal(after.id, before.id);
      assert.equal(after.recovered, true);
      assert.equal(after.value, "frog");
      assert.ok(after.rooms.includes("rr"), `rooms ${after.rooms} include rr`);

      await ask(sender, "broadcast", { rooms: ["rr"], event: "news", data: { n: 4 } });
      while (got.length < 4 && got.at(-1) !== 4) await withTimeout(once(s, "news"), HANG, "news 4");
      assert.deepEqual(got, [1, 2, 3, 4]);
    });
  });
}
