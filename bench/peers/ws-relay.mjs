// Peer relay on the `ws` library: the socket node's job done the way a Node team would write it.
// Auth at the handshake (HS256, token in ?access_token= or Authorization: Bearer), sockets held by
// user, its own subscription on the relay's deliveries topic, the same `message` frame, Pub/Sub acked
// once the frame is written to every socket of the user. Close at token expiry; ping every socket
// and drop one that stays silent for two intervals. No registry, mailbox, re-route or dedup.
//   PORT=… RELAY_NODE_ID=… RELAY_JWT_SECRET=… GOOGLE_CLOUD_PROJECT=… PUBSUB_EMULATOR_HOST=…
//   RELAY_DELIVERIES_TOPIC=… RELAY_DELIVERIES_SUBSCRIPTION=… node --expose-gc ws-relay.mjs
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { establishedFrame, messageFrame, peerSettings, SocketsByUser, statsHandler, stopOn, subscribeDeliveries,
  tokenVerifier } from './peer-common.mjs';

const settings = peerSettings(process.env);
const verify = tokenVerifier(settings.secret);
const sockets = new SocketsByUser();
const counters = { delivered: 0, noSocket: 0, invalid: 0 };
const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false });

function refuse(socket, status, reason) {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function tokenOf(req, url) {
  const query = url.searchParams.get('access_token');
  if (query) return query;
  const header = req.headers.authorization ?? '';
  return header.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : null;
}

function opened(ws, token) {
  const { userId } = token;
  sockets.add(userId, ws);
  ws.lastHeard = Date.now();
  const expiry = setTimeout(() => ws.close(1008, 'token expired'), Math.max(0, token.expiresAtMs - Date.now()));
  ws.on('pong', () => { ws.lastHeard = Date.now(); });
  ws.on('message', (data, isBinary) => {
    ws.lastHeard = Date.now();
    if (isBinary) {
      ws.close(1003, 'binary frames are not supported');
      return;
    }
    let frame;
    try {
      frame = JSON.parse(data.toString('utf8'));
    } catch {
      ws.send(JSON.stringify({ type: 'error', code: 'bad_frame', message: 'not JSON' }));
      return;
    }
    if (frame.type === 'ping') ws.send(JSON.stringify({ type: 'pong', serverTime: new Date().toISOString() }));
    // `ack`: the client confirmed a message; the peer keeps no unacked set, so nothing to do
  });
  ws.on('error', () => {});
  ws.on('close', () => {
    clearTimeout(expiry);
    sockets.remove(userId, ws);
  });
  ws.send(JSON.stringify(establishedFrame(randomUUID(), userId, settings.nodeId)));
}

function deliver(message, done) {
  const set = sockets.of(message.userId);
  if (!set) {
    counters.noSocket++;
    done();
    return;
  }
  const frame = JSON.stringify(messageFrame(message));
  let left = set.size;
  for (const ws of set) {
    ws.send(frame, () => {
      if (--left === 0) {
        counters.delivered++;
        done();
      }
    });
  }
}

const server = http.createServer(statsHandler(counters, sockets));
server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://peer');
  if (url.pathname !== '/ws') {
    refuse(socket, 404, 'Not Found');
    return;
  }
  let token;
  try {
    token = verify(tokenOf(req, url));
  } catch {
    refuse(socket, 401, 'Unauthorized');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => opened(ws, token));
});

const liveness = setInterval(() => {
  const deadBefore = Date.now() - 2 * settings.pingIntervalMs;
  for (const ws of sockets.all()) {
    if (ws.lastHeard < deadBefore) ws.terminate();
    else ws.ping();
  }
}, settings.pingIntervalMs);

const feed = await subscribeDeliveries(settings, deliver, counters);
server.listen(settings.port, '127.0.0.1', () => console.log(`ws peer ${settings.nodeId} listening on ${settings.port}`));

stopOn(['SIGTERM', 'SIGINT'], async () => {
  clearInterval(liveness);
  for (const ws of sockets.all()) ws.close(1012, 'node draining');
  server.close();
  await feed.close();
});
