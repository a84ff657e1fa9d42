package dev.pushrelay.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The socket node image and its class archive agree across socket-node/pom.xml, cloudbuild.yaml and
 * scripts/deploy/node-class-archive.sh: one base image, one archive location, one set of JVM flags.
 */
class NodeImageTest {
  private static final String ARCHIVE_DIR = "socket-node/target/jib-class-archive";

  private static Path root;
  private static Document pom;
  private static JsonNode build;

  @BeforeAll
  static void parse() throws Exception {
    root = Repo.root();
    pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(root.resolve("socket-node/pom.xml").toFile());
    build = new ObjectMapper(new YAMLFactory()).readTree(root.resolve("cloudbuild.yaml").toFile());
  }

  @Test
  void cloudBuildTrainsOnTheBaseImageThePomNames() {
    String pomBase = text(first(pom.getDocumentElement(), "from"), "image");
    assertEquals(pomBase, build.path("substitutions").path("_NODE_BASE_IMAGE").asText(),
        "cloudbuild.yaml's _NODE_BASE_IMAGE and the jib <from> of socket-node/pom.xml must name one image");
    assertTrue(args(step("image")).contains("-Djib.from.image=\"$$(cat build/node-base-image)\""),
        "the image step builds on the digest the archive was trained on");
  }

  @Test
  void theArchiveStepWritesWhereThePomProfileLooks() {
    String activation = text(profile(), "exists");
    assertEquals("${basedir}/target/jib-class-archive/app/archive/archive.args", activation);
    assertTrue(args(step("node-class-archive")).contains(ARCHIVE_DIR),
        "the node-class-archive step must write to " + ARCHIVE_DIR);
    assertTrue(Files.isExecutable(root.resolve("scripts/deploy/node-class-archive.sh")));
  }

  @Test
  void bothEntrypointsStartTheJvmWithTheFlagsFileTheTrainingRunUses() throws Exception {
    Path flags = root.resolve("socket-node/src/main/jib/app/jvm.args");
    assertTrue(Files.isRegularFile(flags), flags + " is the image's /app/jvm.args");
    assertTrue(Files.readString(root.resolve("scripts/deploy/node-class-archive.sh"))
        .contains("socket-node/src/main/jib/app/jvm.args"), "the training run must read the image's flags");
    NodeList entrypoints = pom.getElementsByTagName("entrypoint");
    assertEquals(2, entrypoints.getLength(), "one entrypoint without the archive, one in the profile");
    for (int i = 0; i < entrypoints.getLength(); i++) {
      List<String> args = args((Element) entrypoints.item(i));
      assertEquals(List.of("java", "@/app/jvm.args"), args.subList(0, 2), "entrypoint " + args);
      assertEquals("dev.pushrelay.node.SocketNodeMain", args.get(args.size() - 1), "entrypoint " + args);
    }
    List<String> withArchive = args(first(profile(), "entrypoint"));
    assertTrue(withArchive.containsAll(List.of("@/app/archive/archive.args", "@/app/archive/classpath")),
        "the profile's entrypoint maps the archive on the class path it was trained on: " + withArchive);
  }

  private static JsonNode step(String id) {
    for (JsonNode s : build.path("steps")) {
      if (s.path("id").asText().equals(id)) {
        return s;
      }
    }
    throw new AssertionError("no step " + id + " in cloudbuild.yaml");
  }

  private static String args(JsonNode step) {
    StringBuilder b = new StringBuilder();
    step.path("args").forEach(a -> b.append(a.asText()).append('\n'));
    return b.toString();
  }

  private static Element profile() {
    NodeList profiles = pom.getElementsByTagName("profile");
    for (int i = 0; i < profiles.getLength(); i++) {
      Element p = (Element) profiles.item(i);
      if (text(p, "id").equals("node-class-archive")) {
        return p;
      }
    }
    throw new AssertionError("no node-class-archive profile in socket-node/pom.xml");
  }

  private static Element first(Element parent, String tag) {
    NodeList list = parent.getElementsByTagName(tag);
    if (list.getLength() == 0) {
      throw new AssertionError("no <" + tag + "> in <" + parent.getTagName() + ">");
    }
    return (Element) list.item(0);
  }

  private static String text(Element parent, String tag) {
    return first(parent, tag).getTextContent().trim();
  }

  private static List<String> args(Element entrypoint) {
    List<String> out = new ArrayList<>();
    NodeList args = entrypoint.getElementsByTagName("arg");
    for (int i = 0; i < args.getLength(); i++) {
      out.add(args.item(i).getTextContent().trim());
    }
    return out;
  }
}
