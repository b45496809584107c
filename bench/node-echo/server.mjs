// Reference broadcast app on Node's own socket.io 4.8.1, the counterpart of bench/cmd/go-echo.
// A client joins room "r<k>" given as the handshake query parameter "room"; event "bcast" with
// one argument is broadcast to the whole room (sender included) and acked.
// Usage: node bench/node-echo/server.mjs [port]   (port 0 picks a free one)
// Prints "listening <port>" on stdout once ready. socket.io is resolved from test/node_modules
// unless NODE_PATH points elsewhere.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../test/package.json', import.meta.url));
const { Server } = require('socket.io');

const port = Number(process.argv[2] ?? process.env.PORT ?? 8090);
const httpServer = createServer();
const io = new Server(httpServer, { serveClient: false, transports: ['websocket', 'polling'] });

io.on('connection', (socket) => {
  const room = socket.handshake.query.room;
  if (typeof room === 'string' && room !== '') {
    socket.join(room);
  }
  socket.on('bcast', (msg, ack) => {
    if (typeof room === 'string' && room !== '') {
      io.to(room).emit('bcast', msg);
    }
    if (typeof ack === 'function') {
      ack({ ok: true });
    }
  });
});

httpServer.listen(port, '127.0.0.1', () => {
  console.log(`listening ${httpServer.address().port}`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
