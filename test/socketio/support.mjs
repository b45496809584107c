// Shared helpers of the Socket.IO end-to-end tests: start the Go test server
// (cmd/socketio-conformance) and talk raw Engine.IO over WebSocket.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { once } from "node:events";
import WebSocket from "ws";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

let built; // one build per test file process

function binary() {
  if (process.env.CONFORMANCE_BIN) return process.env.CONFORMANCE_BIN;
  if (!built) {
    const dir = mkdtempSync(join(tmpdir(), "sioconf-"));
    const out = join(dir, "socketio-conformance");
    execFileSync("go", ["build", "-o", out, "./cmd/socketio-conformance"], { cwd: repoRoot, stdio: "inherit" });
    built = { dir, out };
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return built.out;
}

// startServer runs the test server on a free loopback port and resolves to
// { url, wsURL, stop }.
export async function startServer(extraArgs = []) {
  // A later -addr in extraArgs wins over the free port.
  const child = spawn(binary(), ["-addr", "127.0.0.1:0", ...extraArgs], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const url = await new Promise((resolve, reject) => {
    child.on("exit", (code) => reject(new Error(`test server exited with ${code}`)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/[\d.:]+)/);
      if (m) resolve(m[1]);
    });
  });
  child.removeAllListeners("exit");
  return {
    url,
    wsURL: url.replace("http", "ws"),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

// RawSocket is a WebSocket whose messages are read in order with next():
// text as strings, binary as Uint8Array. closed resolves to the close code;
// errors collects the errors (an HTTP answer other than 101 is one).
export class RawSocket {
  constructor(url) {
    this.ws = new WebSocket(url);
    this.queue = [];
    this.waiters = [];
    this.errors = [];
    this.ws.on("error", (err) => this.errors.push(err));
    this.ws.on("message", (data, isBinary) => {
      const msg = isBinary ? new Uint8Array(data) : data.toString();
      const w = this.waiters.shift();
      if (w) w(msg);
      else this.queue.push(msg);
    });
    this.closed = new Promise((resolve) => this.ws.on("close", (code) => resolve(code)));
    this.opened = new Promise((resolve) => this.ws.on("open", resolve));
  }

  next() {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  // nextSkippingPings ignores the server's "2" heartbeat packets.
  async nextSkippingPings() {
    for (;;) {
      const m = await this.next();
      if (m !== "2") return m;
    }
  }

  async send(data) {
    await this.opened;
    this.ws.send(data);
  }

  close() {
    this.ws.close();
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// withTimeout fails a promise that does not settle in ms (a hung test is a failure).
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
