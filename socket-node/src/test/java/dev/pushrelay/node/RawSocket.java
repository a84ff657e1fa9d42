package dev.pushrelay.node;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A WebSocket client written on a bare TCP socket, for what a well-behaved client library cannot do:
 * read every header of a refused handshake, send a text frame that is not UTF-8, or stop reading.
 */
final class RawSocket implements AutoCloseable {
  /** The close code when the connection ended without a close frame. */
  static final int NO_CLOSE_FRAME = 1006;

  record Frame(int opcode, byte[] payload) {
    int closeCode() {
      return payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : 1005;
    }

    String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }
  }

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  private final int status;
  private final Map<String, String> headers;
  private final String body;

  private RawSocket(Socket socket, int status, Map<String, String> headers, String body) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(socket.getInputStream());
    this.out = socket.getOutputStream();
    this.status = status;
    this.headers = headers;
    this.body = body;
  }

  /** Sends an upgrade request; {@code receiveBuffer} above 0 shrinks the socket's receive buffer first. */
  static RawSocket upgrade(int port, String pathAndQuery, Map<String, String> extraHeaders, int receiveBuffer)
      throws IOException {
    Socket socket = new Socket();
    if (receiveBuffer > 0) {
      socket.setReceiveBufferSize(receiveBuffer);
    }
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    socket.setSoTimeout(10_000);
    byte[] key = new byte[16];
    ThreadLocalRandom.current().nextBytes(key);
    StringBuilder request = new StringBuilder()
        .append("GET ").append(pathAndQuery).append(" HTTP/1.1\r\n")
        .append("Host: 127.0.0.1:").append(port).append("\r\n")
        .append("Upgrade: websocket\r\nConnection: Upgrade\r\n")
        .append("Sec-WebSocket-Key: ").append(Base64.getEncoder().encodeToString(key)).append("\r\n")
        .append("Sec-WebSocket-Version: 13\r\n");
    extraHeaders.forEach((name, value) -> request.append(name).append(": ").append(value).append("\r\n"));
    request.append("\r\n");
    socket.getOutputStream().write(request.toString().getBytes(StandardCharsets.ISO_8859_1));
    socket.getOutputStream().flush();
    InputStream raw = socket.getInputStream();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = raw.read();
      if (b < 0) {
        throw new EOFException("connection closed during the handshake: " + head);
      }
      head.write(b);
    }
    String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon > 0) {
        headers.put(lines[i].substring(0, colon).trim(), lines[i].substring(colon + 1).trim());
      }
    }
    String body = "";
    if (status != 101) {
      int length = Integer.parseInt(headers.getOrDefault("Content-Length", "0"));
      byte[] b = new DataInputStream(raw).readNBytes(length);
      body = new String(b, StandardCharsets.UTF_8);
    }
    return new RawSocket(socket, status, headers, body);
  }

  int status() {
    return status;
  }

  String header(String name) {
    return headers.get(name);
  }

  String body() {
    return body;
  }

  /** Sends one masked frame, as a client must. */
  void send(int opcode, byte[] payload) throws IOException {
    sendTogether(opcode, payload, 1);
  }

  /** Sends the same masked frame {@code times} times in one write, so that they arrive together. */
  void sendTogether(int opcode, byte[] payload, int times) throws IOException {
    ByteArrayOutputStream frames = new ByteArrayOutputStream();
    for (int t = 0; t < times; t++) {
      writeFrame(frames, opcode, payload);
    }
    out.write(frames.toByteArray());
    out.flush();
  }

  private static void writeFrame(ByteArrayOutputStream frame, int opcode, byte[] payload) {
    frame.write(0x80 | opcode);
    int n = payload.length;
    if (n < 126) {
      frame.write(0x80 | n);
    } else if (n < 65536) {
      frame.write(0x80 | 126);
      frame.write(n >> 8);
      frame.write(n & 0xff);
    } else {
      frame.write(0x80 | 127);
      for (int shift = 56; shift >= 0; shift -= 8) {
        frame.write((int) ((long) n >> shift) & 0xff);
      }
    }
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    frame.write(mask, 0, 4);
    for (int i = 0; i < n; i++) {
      frame.write(payload[i] ^ mask[i % 4]);
    }
  }

  Frame read() throws IOException {
    int b0 = in.readUnsignedByte();
    int b1 = in.readUnsignedByte();
    long n = b1 & 0x7f;
    if (n == 126) {
      n = in.readUnsignedShort();
    } else if (n == 127) {
      n = in.readLong();
    }
    byte[] payload = new byte[(int) n];
    in.readFully(payload);
    return new Frame(b0 & 0x0f, payload);
  }

  /** Reads until the server closes: the code of its close frame, or {@link #NO_CLOSE_FRAME}. */
  int awaitClose(Duration timeout) throws IOException {
    socket.setSoTimeout((int) timeout.toMillis());
    try {
      while (true) {
        Frame f = read();
        if (f.opcode() == 0x8) {
          return f.closeCode();
        }
      }
    } catch (EOFException | java.net.SocketException e) {
      return NO_CLOSE_FRAME;
    } catch (SocketTimeoutException e) {
      throw new IOException("the server did not close within " + timeout, e);
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
