package dev.pushrelay.localinvoker;

import com.google.cloud.functions.invoker.HttpFunctionExecutor;
import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;

/**
 * Runs one HTTP function of the Functions Framework on one address, for the local stack.
 *
 * <p>The framework's own invoker listens on every interface and has no option to choose one. This
 * launcher serves the same servlet ({@link HttpFunctionExecutor}, which is what answers in Cloud Run
 * functions too) behind a connector bound to {@code --host}, 127.0.0.1 unless told otherwise. The
 * function's classes are loaded apart from the invoker's, seeing only the framework's API from it, as
 * the invoker loads them.
 *
 * <p>Arguments: {@code --classpath CP --target CLASS --port N [--host ADDRESS]}. SIGTERM stops the
 * server (the JVM's shutdown hook).
 */
public final class LoopbackInvoker {
  private LoopbackInvoker() {}

  public static void main(String[] args) throws Exception {
    jsonLogs();
    Map<String, String> options = options(args);
    String host = options.getOrDefault("host", "127.0.0.1");
    int port = Integer.parseInt(required(options, "port"));
    ClassLoader functions = functionLoader(required(options, "classpath"));
    Class<?> target = Class.forName(required(options, "target"), true, functions);
    Server server = serve(target, host, port);
    server.join();
  }

  /**
   * The launcher's own lines (Jetty's, which go through java.util.logging) are JSON on standard output,
   * in the framework's format, as the functions' own lines are.
   */
  private static void jsonLogs() {
    System.setProperty("org.eclipse.jetty.util.log.class", "org.eclipse.jetty.util.log.JavaUtilLog");
    java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
    for (java.util.logging.Handler h : root.getHandlers()) {
      root.removeHandler(h);
    }
    root.addHandler(new com.google.cloud.functions.invoker.gcf.JsonLogHandler(System.out, false));
  }

  /** Starts the function's servlet on host:port (port 0 picks one) and returns the started server. */
  static Server serve(Class<?> target, String host, int port) throws Exception {
    Thread.currentThread().setContextClassLoader(target.getClassLoader());
    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost(host);
    connector.setPort(port);
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler();
    context.setContextPath("/");
    context.addServlet(new ServletHolder(HttpFunctionExecutor.forClass(target)), "/*");
    server.setHandler(context);
    server.setStopAtShutdown(true);
    server.start();
    return server;
  }

  static Map<String, String> options(String[] args) {
    if (args.length % 2 != 0) {
      throw new IllegalArgumentException("arguments come in pairs: --classpath CP --target CLASS --port N [--host ADDRESS]");
    }
    Map<String, String> options = new java.util.HashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("expected an option, got " + args[i]);
      }
      options.put(args[i].substring(2), args[i + 1]);
    }
    return options;
  }

  private static String required(Map<String, String> options, String name) {
    String value = options.get(name);
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("--" + name + " is required");
    }
    return value;
  }

  /**
   * A loader over the function's class path (entries separated by the path separator; {@code dir/*}
   * means every jar in dir) whose parent shows only the framework API ({@code com.google.cloud.functions.*},
   * not the invoker) and the platform's classes.
   */
  static ClassLoader functionLoader(String classpath) throws IOException {
    List<URL> urls = new ArrayList<>();
    for (String entry : classpath.split(java.io.File.pathSeparator)) {
      if (entry.isBlank()) {
        continue;
      }
      if (entry.endsWith("/*")) {
        try (Stream<Path> jars = Files.list(Path.of(entry.substring(0, entry.length() - 2)))) {
          for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).sorted().toList()) {
            urls.add(url(jar));
          }
        }
      } else {
        urls.add(url(Path.of(entry)));
      }
    }
    return new URLClassLoader(urls.toArray(URL[]::new), new ApiOnly(LoopbackInvoker.class.getClassLoader()));
  }

  private static URL url(Path path) throws MalformedURLException {
    return path.toUri().toURL();
  }

  /** Shows the framework API from the invoker's loader, and otherwise only the platform's classes. */
  private static final class ApiOnly extends ClassLoader {
    private final ClassLoader invoker;

    ApiOnly(ClassLoader invoker) {
      super(ClassLoader.getPlatformClassLoader());
      this.invoker = invoker;
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
      if (name.startsWith("com.google.cloud.functions.") && !name.startsWith("com.google.cloud.functions.invoker.")) {
        return invoker.loadClass(name);
      }
      throw new ClassNotFoundException(name);
    }
  }
}
