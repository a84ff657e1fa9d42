package dev.pushrelay.localinvoker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.cloud.functions.HttpFunction;
import com.google.cloud.functions.HttpRequest;
import com.google.cloud.functions.HttpResponse;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoopbackInvokerTest {

  /** Echoes the method, path and body, as a function under test. */
  public static final class Echo implements HttpFunction {
    @Override
    public void service(HttpRequest request, HttpResponse response) throws IOException {
      response.setStatusCode(201);
      response.setContentType("text/plain");
      response.getWriter().write(request.getMethod() + " " + request.getPath() + " "
          + new String(request.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
    }
  }

  @Test
  void servesTheFunctionOnLoopbackAndNowhereElse() throws Exception {
    Server server = LoopbackInvoker.serve(Echo.class, "127.0.0.1", 0);
    try {
      int port = ((ServerConnector) server.getConnectors()[0]).getLocalPort();
      var response = HttpClient.newHttpClient().send(
          java.net.http.HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/messages"))
              .POST(BodyPublishers.ofString("hi")).build(), BodyHandlers.ofString());
      assertEquals(201, response.statusCode());
      assertEquals("POST /v1/messages hi", response.body());

      List<InetAddress> outside = Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
          .filter(LoopbackInvokerTest::upAndNotLoopback)
          .flatMap(i -> Collections.list(i.getInetAddresses()).stream())
          .filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress())
          .toList();
      Assumptions.assumeFalse(outside.isEmpty(), "this machine has no address but loopback");
      for (InetAddress address : outside) {
        try (Socket s = new Socket()) {
          assertThrows(IOException.class, () -> s.connect(new InetSocketAddress(address, port), 2000),
              "the function answers on " + address.getHostAddress());
        }
      }
    } finally {
      server.stop();
    }
  }

  @Test
  void theFunctionSeesTheFrameworkApiButNotTheInvokersLibraries(@TempDir Path dir) throws Exception {
    Path jar = Files.createFile(dir.resolve("empty.jar"));
    ClassLoader loader = LoopbackInvoker.functionLoader(dir + "/*" + java.io.File.pathSeparator + jar);
    assertEquals(HttpFunction.class, loader.loadClass(HttpFunction.class.getName()));
    assertThrows(ClassNotFoundException.class, () -> loader.loadClass(Server.class.getName()));
    assertThrows(ClassNotFoundException.class, () -> loader.loadClass(LoopbackInvoker.class.getName()));
  }

  @Test
  void refusesArgumentsItDoesNotUnderstand() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LoopbackInvoker.options(new String[] {"--port"}))
        .getMessage().contains("pairs"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LoopbackInvoker.options(new String[] {"port", "1"}))
        .getMessage().contains("expected an option"));
  }

  private static boolean upAndNotLoopback(NetworkInterface i) {
    try {
      return i.isUp() && !i.isLoopback();
    } catch (SocketException e) {
      return false;
    }
  }
}
