package dev.pushrelay.bench.jmh;

import dev.pushrelay.model.RelayMessage;
import dev.pushrelay.model.ServerFrames;
import java.nio.charset.StandardCharsets;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** The per-message JSON work on the hot path: parse a delivery, build the socket frame, re-serialise. */
@State(Scope.Thread)
public class CodecBench {
  private byte[] delivery;
  private RelayMessage message;

  @Setup
  public void setUp() throws Exception {
    delivery = ("{\"id\":\"64e086d6-c524-4e6c-b726-91d540305472\",\"userId\":\"demo-user\",\"event\":\"agent_update\","
        + "\"data\":{\"step\":3,\"text\":\"agent finished step 3\",\"tags\":[\"a\",\"b\"]},"
        + "\"sentAt\":\"2026-11-27T05:25:50.980Z\",\"ttlSeconds\":86400,\"priority\":\"normal\"}")
        .getBytes(StandardCharsets.UTF_8);
    message = RelayMessage.parse(delivery);
  }

  @Benchmark
  public RelayMessage parseRelayMessage() throws Exception {
    return RelayMessage.parse(delivery);
  }

  @Benchmark
  public String buildMessageFrame() {
    return ServerFrames.message(message);
  }

  @Benchmark
  public String relayMessageToJson() {
    return message.toJson();
  }

  @Benchmark
  public String parseAndBuildFrame() throws Exception {
    return ServerFrames.message(RelayMessage.parse(delivery));
  }
}
