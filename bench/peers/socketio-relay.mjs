// Peer relay on Socket.IO (WebSocket transport only): the same job as ws-relay.mjs. The token comes in
// the handshake's auth payload ({token}) or ?access_token=; the frames travel as the event "message"
// (the client acks with the event "ack"). Engine.IO's own ping/pong keeps liveness. Socket.IO's emit
// has no write callback, so Pub/Sub is acked right after the emits.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server } from 'socket.io';
import { establishedFrame, messageFrame, peerSettings, SocketsByUser, statsHandler, stopOn, subscribeDeliveries,
  tokenVerifier } from './peer-common.mjs';

const settings = peerSettings(process.env);
const verify = tokenVerifier(settings.secret);
const sockets = new SocketsByUser();
const counters = { delivered: 0, noSocket: 0, invalid: 0 };

const server = http.createServer(statsHandler(counters, sockets));
const io = new Server(server, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 64 * 1024,
  pingInterval: settings.pingIntervalMs,
});

io.use((socket, next) => {
  try {
    socket.data.token = verify(socket.handshake.auth?.token ?? socket.handshake.query.access_token);
    next();
  } catch {
    next(new Error('unauthorized'));
  }
});

io.on('connection', (socket) => {
  const { userId, expiresAtMs } = socket.data.token;
  sockets.add(userId, socket);
  const expiry = setTimeout(() => socket.disconnect(true), Math.max(0, expiresAtMs - Date.now()));
  socket.on('ack', () => {
    // the client confirmed a message; the peer keeps no unacked set, so nothing to do
  });
  socket.on('disconnect', () => {
    clearTimeout(expiry);
    sockets.remove(userId, socket);
  });
  socket.emit('message', establishedFrame(randomUUID(), userId, settings.nodeId));
});

function deliver(message, done) {
  const set = sockets.of(message.userId);
  if (!set) {
    counters.noSocket++;
    done();
    return;
  }
  const frame = messageFrame(message);
  for (const socket of set) socket.emit('message', frame);
  counters.delivered++;
  done();
}

const feed = await subscribeDeliveries(settings, deliver, counters);
server.listen(settings.port, '127.0.0.1',
  () => console.log(`socket.io peer ${settings.nodeId} listening on ${settings.port}`));

stopOn(['SIGTERM', 'SIGINT'], async () => {
  io.disconnectSockets(true);
  io.close();
  await feed.close();
});
