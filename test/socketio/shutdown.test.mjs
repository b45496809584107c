// Graceful shutdown: closing the Go server tells clients their transport
// closed, so the stock client reconnects by itself once a server is back.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { io } from "socket.io-client";
import { startServer, withTimeout } from "./support.mjs";

const HANG = 10_000;

for (const transports of [["websocket"], ["polling"]]) {
  describe(`shutdown over ${transports[0]}`, () => {
    it("clients reconnect to the next server", async () => {
      let server = await startServer(["-e2e"]);
      const addr = server.url.replace("http://", "");
      const s = io(server.url, { transports, forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
      try {
        await withTimeout(once(s, "connect"), HANG, "connect");
        const firstID = s.id;
        const disconnected = withTimeout(once(s, "disconnect"), HANG, "disconnect");
        await server.stop();
        const [reason] = await disconnected;
        assert.ok(["transport close", "transport error"].includes(reason), `reason ${reason} lets the client reconnect`);

        server = await startServer(["-e2e", "-addr", addr]);
        await withTimeout(once(s, "connect"), HANG, "reconnect");
        assert.notEqual(s.id, firstID, "a new server knows no old session");
        assert.equal(await withTimeout(s.emitWithAck("message-with-ack", "back"), HANG, "ack"), "back");
      } finally {
        s.disconnect();
        await server.stop();
      }
    });
  });
}
