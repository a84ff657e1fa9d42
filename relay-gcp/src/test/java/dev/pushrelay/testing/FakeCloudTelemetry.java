package dev.pushrelay.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.devtools.cloudtrace.v2.BatchWriteSpansRequest;
import com.google.monitoring.v3.CreateMetricDescriptorRequest;
import com.google.monitoring.v3.CreateTimeSeriesRequest;
import com.google.monitoring.v3.TimeSeries;
import com.google.protobuf.Empty;
import com.google.protobuf.Message;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A fake of Cloud Monitoring's and Cloud Trace's write APIs on a local port, at the wire: a gRPC server
 * answering {@code google.monitoring.v3.MetricService/CreateTimeSeries} and {@code CreateMetricDescriptor},
 * and {@code google.devtools.cloudtrace.v2.TraceService/BatchWriteSpans}, in plaintext. It keeps the shape
 * of every time series written (metric type, kind, labels, monitored resource), which the test compares
 * with what the alert policies query.
 */
public final class FakeCloudTelemetry implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Set<String> series = ConcurrentHashMap.newKeySet();
  private final AtomicInteger spans = new AtomicInteger();
  private final Server server;

  private FakeCloudTelemetry() throws IOException {
    ServerServiceDefinition monitoring = ServerServiceDefinition.builder("google.monitoring.v3.MetricService")
        .addMethod(unary("google.monitoring.v3.MetricService/CreateTimeSeries",
            CreateTimeSeriesRequest.getDefaultInstance(), Empty.getDefaultInstance(), r -> {
              r.getTimeSeriesList().forEach(ts -> series.add(shape(ts)));
              return Empty.getDefaultInstance();
            }))
        .addMethod(unary("google.monitoring.v3.MetricService/CreateMetricDescriptor",
            CreateMetricDescriptorRequest.getDefaultInstance(),
            com.google.api.MetricDescriptor.getDefaultInstance(), CreateMetricDescriptorRequest::getMetricDescriptor))
        .build();
    ServerServiceDefinition trace = ServerServiceDefinition.builder("google.devtools.cloudtrace.v2.TraceService")
        .addMethod(unary("google.devtools.cloudtrace.v2.TraceService/BatchWriteSpans",
            BatchWriteSpansRequest.getDefaultInstance(), Empty.getDefaultInstance(), r -> {
              spans.addAndGet(r.getSpansCount());
              return Empty.getDefaultInstance();
            }))
        .build();
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(monitoring)
        .addService(trace)
        .build()
        .start();
  }

  public static FakeCloudTelemetry start() throws IOException {
    return new FakeCloudTelemetry();
  }

  /** {@code host:port}, for {@code RELAY_CLOUD_TELEMETRY_EMULATOR_HOST}. */
  public String host() {
    return "127.0.0.1:" + server.getPort();
  }

  /** Each distinct time series shape written so far, as a JSON line. */
  public List<String> series() {
    return series.stream().sorted().toList();
  }

  /** Spans written so far. */
  public int spans() {
    return spans.get();
  }

  /** Appends the shapes written so far to {@code file}, one JSON line each. */
  public void appendSeriesTo(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    Files.write(file, series(), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  private static String shape(TimeSeries ts) {
    ObjectNode n = JSON.createObjectNode()
        .put("type", ts.getMetric().getType())
        .put("kind", ts.getMetricKind().name())
        .put("value", ts.getPointsCount() == 0 ? "NONE" : ts.getPoints(0).getValue().getValueCase().name())
        .put("resource", ts.getResource().getType());
    // an instance's id differs per process: kept as "*" so the shapes of many processes fold together
    ObjectNode labels = n.putObject("labels");
    new TreeMap<>(ts.getMetric().getLabelsMap())
        .forEach((k, v) -> labels.put(k, k.equals("service_instance_id") ? "*" : v));
    ObjectNode resource = n.putObject("resourceLabels");
    new TreeMap<>(ts.getResource().getLabelsMap()).forEach((k, v) -> resource.put(k, k.equals("task_id") ? "*" : v));
    return n.toString();
  }

  private static <Q extends Message, R extends Message> io.grpc.ServerMethodDefinition<Q, R> unary(String name,
      Q request, R response, Function<Q, R> answer) {
    MethodDescriptor<Q, R> method = MethodDescriptor.<Q, R>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(name)
        .setRequestMarshaller(ProtoUtils.marshaller(request))
        .setResponseMarshaller(ProtoUtils.marshaller(response))
        .build();
    return io.grpc.ServerMethodDefinition.create(method, ServerCalls.asyncUnaryCall(
        (Q q, StreamObserver<R> out) -> {
          out.onNext(answer.apply(q));
          out.onCompleted();
        }));
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
