// A real socket.io 4.8.1 server for sioclient's interop test. Prints "listening <port>".
//   "/":     "echo" acks its arguments and emits them back as "echoed"; "ask" emits "question"
//            with an ack callback and reports the reply as "answered"; "pongs" acks the number of
//            Engine.IO pongs received; "kick" disconnects the socket.
//   "/auth": refuses a CONNECT whose auth token is not "ok".
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../../test/package.json', import.meta.url));
const { Server } = require('socket.io');

const httpServer = createServer();
const io = new Server(httpServer, { pingInterval: 50, pingTimeout: 1000, transports: ['websocket'] });

function wire(socket) {
  let pongs = 0;
  socket.conn.on('packet', (p) => {
    if (p.type === 'pong') pongs++;
  });
  socket.on('echo', (...args) => {
    const ack = typeof args.at(-1) === 'function' ? args.pop() : null;
    socket.emit('echoed', ...args);
    if (ack) ack(...args);
  });
  socket.on('ask', () => socket.emit('question', 1, (...reply) => socket.emit('answered', reply.length)));
  socket.on('pongs', (ack) => ack(pongs));
  socket.on('kick', () => socket.disconnect(true));
}

io.on('connection', wire);
io.of('/auth')
  .use((socket, next) => (socket.handshake.auth?.token === 'ok' ? next() : next(Object.assign(new Error('not authorized'), { data: { code: 7 } }))))
  .on('connection', wire);

httpServer.listen(0, '127.0.0.1', () => console.log(`listening ${httpServer.address().port}`));
process.stdin.on('end', () => process.exit(0)); // the test closes stdin to stop us
process.stdin.resume();
