package dev.pushrelay.functions.send;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pushrelay.json.JsonCodec;
import java.io.IOException;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Who may ask whether a user is online: a permission of its own, narrower than the send function's
 * invoker role, since presence tells a caller about any user. {@code RELAY_PRESENCE_CALLERS} lists the
 * e-mails of the accounts allowed (Terraform: {@code presence_callers}); {@code *} allows every caller that
 * got through the invoker check (the local stack); empty, nobody asks.
 *
 * <p>The caller is the {@code email} of the identity token Cloud Run checked before the request reached
 * the function (the invoker check): the one in {@code X-Serverless-Authorization} when that header is
 * there, else the one in {@code Authorization}, the order in which Cloud Run looks. It passes that token on
 * with its signature cut off, so its payload is read here, not verified again. The other header is not
 * read: with both sent, Cloud Run checks only the first, and the second could say anything. E-mails
 * compare without case. A token minted by impersonation carries {@code email} only when asked for
 * ({@code --include-email}).
 */
record PresenceCallers(boolean anyone, Set<String> emails) {
  static final String ANYONE = "*";

  static PresenceCallers of(List<String> configured) {
    return new PresenceCallers(configured.contains(ANYONE), Set.copyOf(configured.stream()
        .filter(e -> !e.equals(ANYONE)).map(e -> e.toLowerCase(Locale.ROOT)).toList()));
  }

  /**
   * Whether the caller may ask: {@code serverless} is its {@code X-Serverless-Authorization} header,
   * {@code authorization} its {@code Authorization} header.
   */
  boolean allow(Optional<String> serverless, Optional<String> authorization) {
    Optional<String> checked = serverless.isPresent() ? serverless : authorization;
    return anyone || caller(checked).map(e -> e.toLowerCase(Locale.ROOT)).filter(emails::contains).isPresent();
  }

  /** The {@code email} claim of a bearer identity token, if the header holds one. */
  static Optional<String> caller(Optional<String> authorization) {
    String[] parts = authorization.filter(h -> h.regionMatches(true, 0, "Bearer ", 0, 7))
        .map(h -> h.substring(7).trim().split("\\.")).orElse(new String[0]);
    if (parts.length < 2) {
      return Optional.empty();
    }
    try {
      JsonNode claims = JsonCodec.read(Base64.getUrlDecoder().decode(parts[1]));
      return Optional.ofNullable(claims.path("email").textValue());
    } catch (IOException | RuntimeException e) {
      return Optional.empty(); // not base64url JSON: no caller
    }
  }

  /** Says nothing of the e-mails: they are accounts, and logs hold none. */
  @Override
  public String toString() {
    return anyone ? "anyone" : emails.size() + " accounts";
  }
}
