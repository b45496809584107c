// The cases of the official Engine.IO v4 and Socket.IO v5 protocol test
// suites, restated against cmd/socketio-conformance (pingInterval 300 ms,
// pingTimeout 200 ms, maxPayload 1,000,000, connect timeout 1.5 s).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, RawSocket, sleep } from "./support.mjs";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

const eio = (path, query = "EIO=4&transport=polling") => `${server.url}/${path}/?${query}`;
const eioWS = (path, query = "EIO=4&transport=websocket") => `${server.wsURL}/${path}/?${query}`;

async function pollingSession(path) {
  const res = await fetch(eio(path));
  const body = await res.text();
  return JSON.parse(body.substring(1)).sid;
}

// assertTurnedAway opens a websocket for a session that another websocket
// has upgraded (or is upgrading): the suites expect it to be accepted (101,
// so no error event) and then closed by the server.
async function assertTurnedAway(url) {
  const ws = new RawSocket(url);
  const opened = await Promise.race([ws.opened.then(() => true), ws.closed.then(() => false)]);
  const code = await ws.closed;
  assert.equal(ws.errors.length, 0, `got ${ws.errors.join(", ")}, want no error`);
  assert.ok(opened, "want the websocket accepted before it is closed");
  assert.equal(code, 1005, "want a close frame without a status code");
}

function assertOpenPacket(body, upgrades) {
  assert.ok(body.startsWith("0"), `got ${body}, want an open packet`);
  const v = JSON.parse(body.substring(1));
  assert.deepEqual(Object.keys(v).sort(), ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
  assert.equal(typeof v.sid, "string");
  assert.deepEqual(v.upgrades, upgrades);
  assert.equal(v.pingInterval, PING_INTERVAL);
  assert.equal(v.pingTimeout, PING_TIMEOUT);
  assert.equal(v.maxPayload, 1000000);
}

describe("Engine.IO protocol (/engine.io/ echo)", () => {
  describe("handshake", () => {
    it("polling: opens a session", async () => {
      const res = await fetch(eio("engine.io"));
      assert.equal(res.status, 200);
      assertOpenPacket(await res.text(), ["websocket"]);
    });

    it("polling: refuses a missing or invalid EIO", async () => {
      for (const q of ["transport=polling", "EIO=abc&transport=polling"]) {
        const res = await fetch(eio("engine.io", q));
        assert.equal(res.status, 400, q);
      }
    });

    it("polling: refuses a missing or invalid transport", async () => {
      for (const q of ["EIO=4", "EIO=4&transport=abc"]) {
        const res = await fetch(eio("engine.io", q));
        assert.equal(res.status, 400, q);
      }
    });

    it("polling: refuses POST and PUT without a session", async () => {
      for (const method of ["POST", "PUT"]) {
        const res = await fetch(eio("engine.io"), { method });
        assert.equal(res.status, 400, method);
      }
    });

    it("websocket: opens a session", async () => {
      const ws = new RawSocket(eioWS("engine.io"));
      assertOpenPacket(await ws.next(), []);
      ws.close();
    });

    it("websocket: closes on a missing or invalid EIO or transport", async () => {
      for (const q of ["transport=websocket", "EIO=abc&transport=websocket", "EIO=4", "EIO=4&transport=abc"]) {
        const ws = new RawSocket(eioWS("engine.io", q));
        await ws.closed;
      }
    });
  });

  describe("message", () => {
    for (const [name, body] of [
      ["one plain text packet", "4hello"],
      ["several plain text packets", "4test1\x1e4test2\x1e4test3"],
      ["plain text and binary packets", "4hello\x1ebAQIDBA=="],
    ]) {
      it(`polling: sends and receives ${name}`, async () => {
        const sid = await pollingSession("engine.io");
        const push = await fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`), { method: "POST", body });
        assert.equal(push.status, 200);
        assert.equal(await push.text(), "ok");
        const poll = await fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`));
        assert.equal(poll.status, 200);
        assert.equal(await poll.text(), body);
      });
    }

    it("polling: closes the session upon an invalid packet", async () => {
      const sid = await pollingSession("engine.io");
      try {
        const push = await fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`), { method: "POST", body: "abc" });
        assert.equal(push.status, 400);
      } catch {
        // the server may cut the request instead
      }
      const poll = await fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`));
      assert.equal(poll.status, 400);
    });

    it("polling: closes the session upon duplicate polls", async () => {
      const sid = await pollingSession("engine.io");
      const [first, second] = await Promise.all([
        fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`)),
        sleep(5).then(() => fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}&t=burst`))),
      ]);
      assert.equal(first.status, 200);
      assert.equal(await first.text(), "1");
      assert.ok([400, 500].includes(second.status), `got ${second.status}, want 400 or 500`);
      const poll = await fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`));
      assert.equal(poll.status, 400);
    });

    it("websocket: echoes a text packet", async () => {
      const ws = new RawSocket(eioWS("engine.io"));
      await ws.next(); // open
      await ws.send("4hello");
      assert.equal(await ws.nextSkippingPings(), "4hello");
      ws.close();
    });

    it("websocket: echoes a binary packet", async () => {
      const ws = new RawSocket(eioWS("engine.io"));
      await ws.next();
      await ws.send(Uint8Array.from([1, 2, 3, 4]));
      assert.deepEqual(await ws.nextSkippingPings(), Uint8Array.from([1, 2, 3, 4]));
      ws.close();
    });

    it("websocket: closes the session upon an invalid packet", async () => {
      const ws = new RawSocket(eioWS("engine.io"));
      await ws.next();
      await ws.send("abc");
      await ws.closed;
    });
  });

  describe("heartbeat", () => {
    it("polling: sends pings and takes pongs", async () => {
      const sid = await pollingSession("engine.io");
      for (let i = 0; i < 3; i++) {
        const poll = await fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`));
        assert.equal(poll.status, 200);
        assert.equal(await poll.text(), "2");
        const push = await fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`), { method: "POST", body: "3" });
        assert.equal(push.status, 200);
      }
    });

    it("polling: closes the session upon ping timeout", async () => {
      const sid = await pollingSession("engine.io");
      await sleep(PING_INTERVAL + PING_TIMEOUT);
      const poll = await fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`));
      assert.equal(poll.status, 400);
    });

    it("websocket: sends pings and takes pongs", async () => {
      const ws = new RawSocket(eioWS("engine.io"));
      await ws.next();
      for (let i = 0; i < 3; i++) {
        assert.equal(await ws.next(), "2");
        await ws.send("3");
      }
      ws.close();
    });

    it("websocket: closes the session upon ping timeout", async () => {
      const ws = new RawSocket(eioWS("engine.io"));
      await ws.closed;
    });
  });

  describe("close", () => {
    it("polling: the client closes the session", async () => {
      const sid = await pollingSession("engine.io");
      const [poll] = await Promise.all([
        fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`)),
        fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`), { method: "POST", body: "1" }),
      ]);
      assert.equal(poll.status, 200);
      assert.equal(await poll.text(), "6");
      const again = await fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`));
      assert.equal(again.status, 400);
    });

    it("websocket: the client closes the session", async () => {
      const ws = new RawSocket(eioWS("engine.io"));
      await ws.next();
      await ws.send("1");
      await ws.closed;
    });
  });

  describe("upgrade", () => {
    it("upgrades from polling to websocket", async () => {
      const sid = await pollingSession("engine.io");
      const ws = new RawSocket(eioWS("engine.io", `EIO=4&transport=websocket&sid=${sid}`));
      await ws.send("2probe");
      assert.equal(await ws.next(), "3probe");
      const poll = await fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`));
      assert.equal(poll.status, 200);
      assert.equal(await poll.text(), "6");
      await ws.send("5");
      await ws.send("4hello");
      assert.equal(await ws.nextSkippingPings(), "4hello");
      ws.close();
    });

    it("refuses polling on an upgraded session", async () => {
      const sid = await pollingSession("engine.io");
      const ws = new RawSocket(eioWS("engine.io", `EIO=4&transport=websocket&sid=${sid}`));
      await ws.send("2probe");
      await ws.send("5");
      const poll = await fetch(eio("engine.io", `EIO=4&transport=polling&sid=${sid}`));
      assert.equal(poll.status, 400);
      await ws.send("4hello");
      let m;
      do m = await ws.next(); while (m === "2" || m === "3probe" || m === "6");
      assert.equal(m, "4hello");
      ws.close();
    });

    it("ignores a websocket with the same sid after the upgrade", async () => {
      const sid = await pollingSession("engine.io");
      const ws = new RawSocket(eioWS("engine.io", `EIO=4&transport=websocket&sid=${sid}`));
      await ws.send("2probe");
      await ws.send("5");
      await assertTurnedAway(eioWS("engine.io", `EIO=4&transport=websocket&sid=${sid}`));
      await ws.send("4hello");
      let m;
      do m = await ws.next(); while (m === "2" || m === "3probe" || m === "6");
      assert.equal(m, "4hello");
      ws.close();
    });
  });
});

// sioSocket opens a websocket to /socket.io/ and reads the Engine.IO open packet.
async function sioSocket() {
  const ws = new RawSocket(eioWS("socket.io"));
  assert.ok((await ws.next()).startsWith("0"));
  return ws;
}

// connected opens a socket connected to the main namespace.
async function connected() {
  const ws = await sioSocket();
  await ws.send("40");
  assert.ok((await ws.nextSkippingPings()).startsWith("40"));
  assert.equal(await ws.nextSkippingPings(), '42["auth",{}]');
  return ws;
}

function assertConnectReply(data, prefix) {
  assert.ok(data.startsWith(prefix), `got ${data}, want ${prefix}...`);
  const handshake = JSON.parse(data.substring(prefix.length));
  assert.deepEqual(Object.keys(handshake), ["sid"]);
  assert.equal(typeof handshake.sid, "string");
}

describe("Socket.IO protocol (/socket.io/)", () => {
  describe("upgrade", () => {
    // The Socket.IO suite's version: the session has received its first ping
    // over polling before the upgrade.
    it("ignores a websocket with the same sid after the upgrade", async () => {
      const sid = await pollingSession("socket.io");
      const ping = await fetch(eio("socket.io", `EIO=4&transport=polling&sid=${sid}`));
      assert.equal(ping.status, 200);
      assert.equal(await ping.text(), "2");
      const ws = new RawSocket(eioWS("socket.io", `EIO=4&transport=websocket&sid=${sid}`));
      await ws.send("2probe");
      await ws.send("5");
      await assertTurnedAway(eioWS("socket.io", `EIO=4&transport=websocket&sid=${sid}`));
      await ws.send("3"); // the pong the session is waiting for
      await ws.send("40");
      let m;
      do m = await ws.next(); while (m === "2" || m === "3probe" || m === "6");
      assertConnectReply(m, "40");
      ws.close();
    });
  });

  describe("connect", () => {
    for (const [name, packet, prefix, auth] of [
      ["the main namespace", "40", "40", '42["auth",{}]'],
      ["the main namespace with a payload", '40{"token":"123"}', "40", '42["auth",{"token":"123"}]'],
      ["a custom namespace", "40/custom,", "40/custom,", '42/custom,["auth",{}]'],
      ["a custom namespace with a payload", '40/custom,{"token":"abc"}', "40/custom,", '42/custom,["auth",{"token":"abc"}]'],
    ]) {
      it(`connects to ${name}`, async () => {
        const ws = await sioSocket();
        await ws.send(packet);
        assertConnectReply(await ws.next(), prefix);
        assert.equal(await ws.next(), auth);
        ws.close();
      });
    }

    it("refuses an unknown namespace", async () => {
      const ws = await sioSocket();
      await ws.send("40/random");
      assert.equal(await ws.next(), '44/random,{"message":"Invalid namespace"}');
      ws.close();
    });

    it("closes on an invalid handshake", async () => {
      const ws = await sioSocket();
      await ws.send("4abc");
      await ws.closed;
    });

    it("closes when no handshake comes", async () => {
      const ws = new RawSocket(eioWS("socket.io"));
      await ws.closed;
    });
  });

  describe("disconnect", () => {
    it("disconnects from the main namespace and keeps the connection", async () => {
      const ws = await connected();
      await ws.send("41");
      assert.equal(await ws.next(), "2");
      ws.close();
    });

    it("connects then disconnects from a custom namespace", async () => {
      const ws = await connected();
      await ws.send("40/custom");
      assert.ok((await ws.nextSkippingPings()).startsWith("40/custom,"));
      assert.equal(await ws.nextSkippingPings(), '42/custom,["auth",{}]');
      await ws.send("41/custom");
      await ws.send('42["message","message to main namespace"]');
      assert.equal(await ws.nextSkippingPings(), '42["message-back","message to main namespace"]');
      ws.close();
    });
  });

  describe("message", () => {
    it("echoes a plain-text packet", async () => {
      const ws = await connected();
      await ws.send('42["message",1,"2",{"3":[true]}]');
      assert.equal(await ws.nextSkippingPings(), '42["message-back",1,"2",{"3":[true]}]');
      ws.close();
    });

    it("echoes a packet with binary attachments", async () => {
      const ws = await connected();
      await ws.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      await ws.send(Uint8Array.from([1, 2, 3]));
      await ws.send(Uint8Array.from([4, 5, 6]));
      assert.equal(
        await ws.nextSkippingPings(),
        '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
      );
      assert.deepEqual(await ws.nextSkippingPings(), Uint8Array.from([1, 2, 3]));
      assert.deepEqual(await ws.nextSkippingPings(), Uint8Array.from([4, 5, 6]));
      ws.close();
    });

    it("acks a plain-text packet", async () => {
      const ws = await connected();
      await ws.send('42456["message-with-ack",1,"2",{"3":[false]}]');
      assert.equal(await ws.nextSkippingPings(), '43456[1,"2",{"3":[false]}]');
      ws.close();
    });

    it("acks a packet with binary attachments", async () => {
      const ws = await connected();
      await ws.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      await ws.send(Uint8Array.from([1, 2, 3]));
      await ws.send(Uint8Array.from([4, 5, 6]));
      assert.equal(await ws.nextSkippingPings(), '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      assert.deepEqual(await ws.nextSkippingPings(), Uint8Array.from([1, 2, 3]));
      assert.deepEqual(await ws.nextSkippingPings(), Uint8Array.from([4, 5, 6]));
      ws.close();
    });

    for (const [name, packet] of [
      ["an unknown packet type", "4abc"],
      ["an invalid payload", "42{}"],
      ["an invalid ack id", '42abc["message-with-ack",1,"2",{"3":[false]}]'],
    ]) {
      it(`closes the connection upon ${name}`, async () => {
        const ws = await connected();
        await ws.send(packet);
        await ws.closed;
      });
    }
  });
});
