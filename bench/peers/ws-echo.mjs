// Minimal `ws` echo server for the ceiling phase: every frame goes back as it came.
//   node ws-echo.mjs PORT
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
if (!(port > 0 && port < 65536)) {
  console.error('usage: node ws-echo.mjs PORT');
  process.exit(2);
}
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`ws echo listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
